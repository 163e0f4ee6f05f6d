"""How preprocess and evaluate costs grow with the corpus (issue 19).

    python bench/scale.py [--n 5000] [--small 500] [--workers 2] [--eval-limit 32] [--work DIR]

For N = --small and N = --n it builds an LRS2-layout corpus of N synthetic talking faces
(1-2 s, 160x160; 24 distinct clips, hard-linked under N clip names so that generating the
corpus is not what is measured), runs `preprocess` (Ray, --sync none) in a child process that
records, while it runs:
  - clips/s and CPU-seconds per clip (driver + Ray processes, from /proc) per decile of clips;
  - the driver's peak RSS and each Ray worker's;
  - the time to list and plan the corpus;
then removes half of the finished shard files (the state a run killed at 50% leaves: files
appear atomically) and times resume planning (listing + reading the done clip ids), puts them
back, and runs `evaluate --model static-frame --limit L` on the split `test` (one tenth of
the clips) to record evaluate's peak RSS. Linux only (/proc).

Last line: `scale: driver RSS ratio <x>, last/second decile <y>, resume plan <z> s`, where
x = driver peak RSS at N / at the small N (target <= 1.2), y = CPU-s per clip in the last
decile / the second (target within 10%), z = resume planning at N (target < 2 s).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
UNIQUE = 24
SHARD_ROWS = 100  # rows per shard file at every N: the driver holds at most one file's rows, so RSS compares
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# ----------------------------------------------------------------------------- /proc
def _stat(pid: int):
    """(ppid, cpu seconds, rss bytes) of a process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    # utime + stime + the waited-for children's (the ffmpeg/ffprobe a worker runs are counted in it)
    return int(fields[1]), sum(int(x) for x in fields[11:15]) / TICK, int(fields[21]) * PAGE


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return "?"


def _is_ffmpeg(title: str) -> bool:
    return os.path.basename(title.split(" ")[0]) in ("ffmpeg", "ffprobe")


def descendants(root: int) -> dict:
    """pid -> (cpu seconds, rss bytes) for root and every process below it."""
    stats = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            s = _stat(int(d))
            if s is not None:
                stats[int(d)] = s
    tree, frontier = {root}, [root]
    children: dict = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    while frontier:
        for c in children.get(frontier.pop(), []):
            if c not in tree:
                tree.add(c)
                frontier.append(c)
    return {pid: stats[pid][1:] for pid in tree if pid in stats}


class Sampler(threading.Thread):
    """Peak RSS per process of this process tree, every 0.2 s; CPU seconds of the tree on demand."""

    def __init__(self):
        super().__init__(daemon=True)
        self.me = os.getpid()
        self.peak: dict = {}
        self.titles: dict = {}
        self.actors: set = set()  # pids that ever ran a ClipProcessor actor
        self.dead_cpu: dict = {}
        self.total = 0.0
        self.stop = threading.Event()

    def cpu(self) -> float:
        """CPU seconds of the tree at the last sample (at most 0.2 s old): the driver's per-clip
        hook reads this instead of scanning /proc itself, which would add to what it measures."""
        return self.total

    def sample(self) -> None:
        for pid, (cpu, rss) in descendants(self.me).items():
            self.peak[pid] = max(rss, self.peak.get(pid, 0))
            self.titles[pid] = _title(pid)  # Ray renames a worker by what it runs (and ray::IDLE after)
            if "MapWorker" in self.titles[pid] or "ClipProcessor" in self.titles[pid]:
                self.actors.add(pid)
            self.dead_cpu[pid] = cpu  # last seen value: a process that exits keeps its share
        self.total = sum(c for pid, c in self.dead_cpu.items() if not _is_ffmpeg(self.titles.get(pid, "")))

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            time.sleep(0.2)


# ----------------------------------------------------------------------------- corpus
def build_corpus(root: Path, n: int, cache: Path) -> None:
    from lsbench import synthetic

    cache.mkdir(parents=True, exist_ok=True)
    uniques = []
    for k in range(UNIQUE):
        p = cache / f"u{k:02d}.mp4"
        if not p.exists():
            synthetic.write_clip(p, synthetic.make_clip(1.0 + (k % 5) * 0.25, seed=k, size=160))
        uniques.append(p)
    splits = {"train": [], "val": [], "test": []}
    for i in range(n):
        split = "test" if i % 10 == 0 else ("val" if i % 10 == 1 else "train")
        vid, clip = f"{6000000000000000000 + i // 20}", f"{i % 20 + 1:05d}"
        base = root / "mvlrs_v1" / "main" / vid / clip
        base.parent.mkdir(parents=True, exist_ok=True)
        os.link(uniques[i % UNIQUE], base.with_suffix(".mp4"))
        base.with_suffix(".txt").write_text(f"Text:  SCALE CLIP {i}\nConf:  4\n")
        splits[split].append(f"{vid}/{clip}")
    for split, items in splits.items():
        (root / f"{split}.txt").write_text("\n".join(items) + "\n")
    (root / "pretrain.txt").write_text("")


# ----------------------------------------------------------------------------- the driver (child process)
def driver(config: dict) -> dict:
    """Runs in its own process: preprocess with timers and samplers around it."""
    from preprocess import pipeline
    from preprocess.stages import Config

    sampler = Sampler()
    sampler.sample()
    sampler.start()
    marks = []  # (seconds since start, tree CPU seconds, clips done)
    timers = {}

    def timed(name, fn):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                timers[name] = timers.get(name, 0.0) + time.perf_counter() - t
        return wrapper

    for name in ("list_corpus", "done_clip_ids", "longest_first"):
        setattr(pipeline, name, timed(name, getattr(pipeline, name)))
    add = pipeline.ShardWriter.add
    t0 = time.perf_counter()
    done = [0]

    def counting_add(self, results):
        out = add(self, results)
        done[0] += results.num_rows
        marks.append((time.perf_counter() - t0, sampler.cpu(), done[0]))
        return out

    pipeline.ShardWriter.add = counting_add
    opts = pipeline.RunOptions("lrs2", Path(config["root"]), Path(config["out"]), split=None,
                               num_workers=config["workers"], progress=False, shard_rows=config["shard_rows"])
    cpu0 = sampler.cpu()
    pipeline.run(opts, Config(sync="none"), echo=lambda s: None)
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    me = os.getpid()
    sampler.sample()
    split = {"driver": 0.0, "workers": 0.0, "Ray daemons and idle workers": 0.0}
    for pid, cpu in sampler.dead_cpu.items():
        title = sampler.titles.get(pid, "")
        if _is_ffmpeg(title):
            continue  # in its worker's children's time
        split["driver" if pid == me else "workers" if pid in sampler.actors else "Ray daemons and idle workers"] += cpu
    workers = {pid: rss for pid, rss in sampler.peak.items() if pid in sampler.actors}
    import ray

    ray.shutdown()
    # resume planning after a kill at 50%: half the finished files moved aside
    out = Path(config["out"])
    files = sorted((out / "shards").glob("*.parquet"))
    aside = out / "aside"
    aside.mkdir()
    for f in files[len(files) // 2:]:
        f.rename(aside / f.name)
    t = time.perf_counter()
    listing = pipeline.list_corpus(opts)
    done_ids = pipeline.done_clip_ids(out)
    todo = [r for r in listing.refs if r["clip_id"] not in done_ids]
    resume_plan = time.perf_counter() - t
    for f in aside.iterdir():
        f.rename(out / "shards" / f.name)
    aside.rmdir()
    return {"n": config["n"], "wall_s": wall, "cpu_split": split, "cpu0": cpu0, "marks": marks, "timers": timers,
            "driver_peak_rss": sampler.peak.get(me, 0), "worker_peak_rss": sorted(workers.values()),
            "resume_plan_s": resume_plan, "resume_todo": len(todo), "resume_done": len(done_ids)}


def deciles(marks, n: int, cpu0: float):
    """Per tenth of the clips: (clips/s, CPU-s per clip)."""
    out, prev = [], (0.0, cpu0, 0)
    for k in range(1, 11):
        goal = n * k / 10
        m = next((m for m in marks if m[2] >= goal), marks[-1])
        clips = m[2] - prev[2]
        if clips > 0 and k > 1 or clips > 1:
            out.append((clips / max(m[0] - prev[0], 1e-9), (m[1] - prev[1]) / clips))
        prev = m
    return out


def eval_rss(shards: Path, out: Path, limit: int) -> "tuple[float, float]":
    """evaluate --model static-frame on split test in a fresh process: (peak RSS bytes, seconds)."""
    code = ("import resource, sys, time; from pathlib import Path; from lsbench.evaluate import evaluate; t=time.time(); "
            f"evaluate('static-frame', Path({str(shards)!r}), 'random-reference', 'test', limit={limit}, "
            f"out=Path({str(out)!r}), progress=False, echo=lambda s: None, metrics=['energy']); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, time.time() - t)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        raise SystemExit(f"evaluate failed: {p.stderr[-2000:]}")
    rss, secs = p.stdout.split()[-2:]
    return float(rss), float(secs)


def measure(n: int, args, work: Path, workers: int = 0) -> dict:
    workers = workers or args.workers
    root, out = work / f"corpus{n}", work / f"shards{n}_{workers}"
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    if not (root / "test.txt").exists():
        build_corpus(root, n, work / "unique")
    print(f"N={n}: corpus built in {time.perf_counter() - t:.1f} s", flush=True)
    cfg = {"n": n, "root": str(root), "out": str(out), "workers": workers,
           "shard_rows": SHARD_ROWS}
    p = subprocess.run([sys.executable, __file__, "--_driver", json.dumps(cfg)], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"preprocess failed at N={n}: {p.stderr[-3000:]}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    files = list((out / "shards").glob("*.parquet"))
    res["shards"] = (len(files), sum(f.stat().st_size for f in files))
    res["eval_rss"], res["eval_s"] = eval_rss(out, work / f"results{n}_{workers}", args.eval_limit)
    res["deciles"] = deciles(res["marks"], n, res["cpu0"])
    return res


def steady(r: dict) -> float:
    """Seconds from the first finished clip to the last: Ray start-up, listing and the card left out."""
    return r["marks"][-1][0] - r["marks"][0][0]


def efficiency(one: dict, two: dict) -> str:
    t1, t2 = steady(one), steady(two)
    return (f"Ray 1 -> 2 workers at N={two['n']}: wall {one['wall_s']:.1f} s -> {two['wall_s']:.1f} s "
            f"({one['wall_s'] / two['wall_s']:.2f}x, efficiency {one['wall_s'] / two['wall_s'] / 2:.2f}); without the "
            f"driver's own start-up, listing and card ({one['wall_s'] - t1:.1f} s / {two['wall_s'] - t2:.1f} s): "
            f"{t1 / t2:.2f}x, efficiency {t1 / t2 / 2:.2f}; 2 workers' CPU-s outside the workers: "
            + ", ".join(f"{k} {v:.0f}" for k, v in two["cpu_split"].items() if k != "workers"))


def report(r: dict) -> None:
    mb = 1 << 20
    print(f"N={r['n']}: preprocess {r['wall_s']:.1f} s ({r['n'] / r['wall_s']:.2f} clips/s overall)")
    print("  decile  clips/s  CPU-s/clip")
    for i, (rate, cpu) in enumerate(r["deciles"], 1):
        print(f"  {i:>6}  {rate:7.2f}  {cpu:10.3f}")
    t = r["timers"]
    print(f"  list corpus {t.get('list_corpus', 0):.2f} s, read done ids {t.get('done_clip_ids', 0):.2f} s, "
          f"order {t.get('longest_first', 0):.3f} s")
    print(f"  driver peak RSS {r['driver_peak_rss'] / mb:.0f} MB; worker peak RSS "
          + ", ".join(f"{x / mb:.0f}" for x in r["worker_peak_rss"]) + " MB")
    print(f"  resume planning after a kill at 50%: {r['resume_plan_s']:.2f} s "
          f"({r['resume_done']} done, {r['resume_todo']} to do)")
    print("  CPU-seconds by process: " + ", ".join(f"{k} {v:.0f}" for k, v in r["cpu_split"].items()))
    print(f"  shards: {r['shards'][0]} files, {r['shards'][1] / mb:.1f} MB")
    print(f"  evaluate (static-frame, --limit, split test): peak RSS {r['eval_rss'] / mb:.0f} MB, {r['eval_s']:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=5000, help="clips in the large corpus")
    ap.add_argument("--small", type=int, default=500, help="clips in the small corpus (the RSS baseline)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--eval-limit", type=int, default=32, help="pairs evaluate scores at both sizes")
    ap.add_argument("--work", type=Path, default=Path("/tmp/lsbench_scale"))
    ap.add_argument("--efficiency", choices=("yes", "no", "only"), default="yes",
                    help="Also run the small corpus with 1 worker for the Ray 1 -> 2 efficiency (only: just that)")
    ap.add_argument("--_driver", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._driver:
        print(json.dumps(driver(json.loads(args._driver))))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    small = measure(args.small, args, args.work) if args.small else None
    if small:
        report(small)
    if small and args.workers == 2 and args.efficiency != "no":
        one = measure(args.small, args, args.work, workers=1)
        report(one)
        print(efficiency(one, small))
    if args.efficiency == "only":
        return
    large = measure(args.n, args, args.work)
    report(large)
    second, last = large["deciles"][1][1], large["deciles"][-1][1]
    if small is None:  # --small 0: no baseline in this run
        print(f"scale: driver RSS {large['driver_peak_rss'] / (1 << 20):.0f} MB (no --small baseline), "
              f"last/second decile {last / second:.2f}, resume plan {large['resume_plan_s']:.2f} s")
        return
    ratio = large["driver_peak_rss"] / small["driver_peak_rss"]
    print(f"evaluate peak RSS ratio (N={args.n} / N={args.small}): {large['eval_rss'] / small['eval_rss']:.2f}")
    print(f"scale: driver RSS ratio {ratio:.2f}, last/second decile {last / second:.2f}, "
          f"resume plan {large['resume_plan_s']:.2f} s")


if __name__ == "__main__":
    main()
