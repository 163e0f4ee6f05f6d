"""Every Ray node must see the corpus and the output folder at the same paths (shared storage:
see ray_cluster.yaml). Checked on each node before any clip is sent, so a worker that cannot
see them stops the run with one line naming the node and the path, instead of turning every
clip it takes into an `unreadable` row."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from typing import List, Tuple

from lsbench.errors import EnvironmentFailure


def path_problems(read: str, write: str) -> List[str]:
    """What this machine cannot do with the corpus root (list it) and the output folder (write in it)."""
    problems = []
    if not os.path.isdir(read):
        problems.append(f"cannot see the corpus root {read} (no such folder here)")
    elif not os.access(read, os.R_OK | os.X_OK):
        problems.append(f"cannot read the corpus root {read} (permission denied)")
    probe = Path(write) / f".node-probe-{uuid.uuid4().hex[:8]}.tmp"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        problems.append(f"cannot write in the output folder {write} ({exc.strerror or exc})")
    return problems


def _probe(read: str, write: str) -> Tuple[str, List[str]]:
    return socket.gethostname(), path_problems(read, write)


def check_nodes_see_paths(read: Path, write: Path, timeout_s: float = 120.0) -> int:
    """Run path_problems on every alive node that has CPUs; raise EnvironmentFailure naming
    the first node that cannot see a path. Returns the number of nodes checked."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
    probe = ray.remote(num_cpus=0)(_probe)
    refs = [probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
            .remote(str(read), str(write)) for n in nodes]
    for node, (host, problems) in zip(nodes, ray.get(refs, timeout=timeout_s)):
        if problems:
            raise EnvironmentFailure(f"Ray node {node.get('NodeManagerAddress', '?')} ({host}) {problems[0]}: every "
                                     f"node must see the corpus and the output at the same paths (shared storage, "
                                     f"see ray_cluster.yaml)")
    return len(nodes)
