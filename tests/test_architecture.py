"""The house rules of docs/architecture.md, checked statically: no import circles among lsbench's
own modules, no import that climbs back up a layer, no function over 80 lines, and every
registration complete (a model's weights, loaders and packs; a dataset's LSE route)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set


ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lsbench", "preprocess", "leaderboard")
MAX_FUNCTION_LINES = 80

# docs/architecture.md's layers, lowest first: a module may import its own layer or lower ones.
# The longest matching prefix decides a module's layer.
LAYERS = {
    "lsbench": 1, "lsbench.errors": 1, "lsbench.registry": 1, "lsbench.media": 1, "lsbench.audio": 1,
    "lsbench.weights": 1, "lsbench.weight_sources": 1, "lsbench.outputs": 1, "lsbench.device": 1, "lsbench.landmarks": 1,
    "lsbench.synthetic": 1, "lsbench.sync_energy": 1, "preprocess.schema": 1,
    "lsbench.models": 2, "lsbench.detectors": 2, "lsbench.syncnet": 2, "lsbench.fid": 2, "lsbench.fullframe": 2,
    "lsbench.protocols": 2, "lsbench.shards": 2, "lsbench.data": 2,
    "lsbench.metrics": 3, "lsbench.conformance": 3,
    "lsbench.evaluate": 4, "lsbench.train": 4, "lsbench.generate": 4, "preprocess": 4,
    "leaderboard": 5, "lsbench.validate": 5, "lsbench.doc_tables": 5,
    "lsbench.cli": 6, "lsbench.demo": 6,
}


def modules() -> Dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for p in (ROOT / pkg).rglob("*.py"):
            parts = list(p.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = p
    return out


def imports(name: str, path: Path, known: Set[str]) -> Set[str]:
    """The project modules `name` imports, at module level or inside functions."""
    found = set()
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else node.module
            subs = [f"{mod}.{a.name}" for a in node.names]
            targets = [t for t in subs if t in known] + ([mod] if not all(t in known for t in subs) else [])
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def graph() -> Dict[str, Set[str]]:
    mods = modules()
    return {m: imports(m, p, set(mods)) for m, p in mods.items()}


def layer(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return LAYERS[".".join(parts[:n])]
    raise AssertionError(f"{module} has no layer in docs/architecture.md (tests/test_architecture.py LAYERS)")


def cycles(g: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on: Set[str] = set()
    out: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles():
    assert cycles(graph()) == []


def test_the_checker_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_climbs_back_up():
    up = [f"{m} (layer {layer(m)}) imports {d} (layer {layer(d)})"
          for m, deps in sorted(graph().items()) for d in sorted(deps) if layer(d) > layer(m)]
    assert up == []


def test_no_function_over_80_lines():
    long = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.name} ({n} lines)")
    assert long == []
