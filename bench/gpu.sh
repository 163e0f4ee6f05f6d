#!/usr/bin/env bash
# lsbench on a CUDA GPU: preprocessing's and evaluate's frames/s, with the date and the GPU's nvidia-smi line.
#
#   bench/gpu.sh [--device cuda|cpu] [CLIPS] [SECONDS]      (default: cuda, 16 clips of 4 s = 1600 frames of 160x160)
#
# --device cpu runs the same steps with every GPU hidden (CUDA_VISIBLE_DEVICES=""): the script's own check where no
# GPU is at hand (e.g. `bench/gpu.sh --device cpu 2 2`); its figures are CPU figures and say so.
#
# Corpus: lsbench demo's synthetic talking faces in LRS2's layout (lsbench.demo.build_corpus; no download).
#   preprocess A: `lsbench preprocess --dataset lrs2 --detector dlib --sync syncnet` (Ray, default workers; SyncNet on
#                 the GPU; every clip kept: --sync-min-conf -1e9 --sync-max-offset 15): the shards evaluate reads.
#                 With GPUs in the cluster each preprocess actor asks for a whole one (num_gpus=1), so on a
#                 one-GPU machine one actor runs at a time, whatever the CPU count: the figure shows what that costs;
#   preprocess B: the same with --detector s3fd (S3FD on the GPU; with procedural weights its boxes are noise, so
#                 clips may be dropped: the figure is decoded frames per second, the kept clips are said);
#   evaluate:     `lsbench evaluate --model wav2lip --metrics lse --device cuda` on A's shards (random-reference,
#                 whole-frame LSE route: the mp4 of every pair written and scored as Wav2Lip's scripts do).
# Each command is timed from outside with `date +%s.%N` (process start, imports and model loading included);
# evaluate's own wall time (results file, run.wall_s) is printed beside it.
#
# Environment: PYTHON (default .venv/bin/python, else python3); LSBENCH_WEIGHTS_DIR (a folder holding wav2lip.pth,
# syncnet_v2.model, sfd_face.pth; default: the conformance packs' procedural stand-ins, materialised from
# $LSBENCH_SHARED/conformance, default ../shared/conformance); WORK (default: a temporary folder, removed at the end).
# Without a CUDA GPU it prints one line saying so and exits with status 2.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "bench/gpu.sh: $*" >&2; exit 2; }

DEVICE=cuda
if [ "${1:-}" = "--device" ]; then
    DEVICE=${2:-}
    shift 2 || fail "--device needs cuda or cpu"
fi
[ "$DEVICE" = cuda ] || [ "$DEVICE" = cpu ] || fail "--device $DEVICE: cuda or cpu"
CLIPS=${1:-16}
SECS=${2:-4}
PY=${PYTHON:-}
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi

if [ "$DEVICE" = cuda ]; then
    command -v nvidia-smi >/dev/null 2>&1 || fail "no CUDA GPU here (nvidia-smi is not installed): nothing measured (--device cpu runs it on the CPU)"
    GPU_LINE=$(nvidia-smi -L 2>/dev/null | head -n 1 || true)
    [ -n "$GPU_LINE" ] || fail "no CUDA GPU here (nvidia-smi lists none): nothing measured (--device cpu runs it on the CPU)"
    "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1 \
        || fail "$PY's torch sees no CUDA device (CPU-only build, or no driver): nothing measured"
else
    export CUDA_VISIBLE_DEVICES=""  # preprocess picks its device itself: hide every GPU from it and from evaluate
    GPU_LINE="none: --device cpu (every figure below is a CPU figure)"
fi

if [ -z "${WORK:-}" ]; then
    WORK=$(mktemp -d /tmp/lsbench-gpu.XXXXXX)
    trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"
export LSBENCH_HOME="$WORK/home"

now() { date +%s.%N; }
secs() { "$PY" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
per_s() { "$PY" -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.1f}')" "$1" "$2"; }
run_logged() {  # run_logged LOG CMD...: the command's output goes to LOG; on failure its tail and one line
    local log=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        fail "failed: $* (log above)"
    fi
}

echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "gpu: $GPU_LINE"
[ "$DEVICE" = cpu ] || echo "     $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -n 1)"
echo "lsbench: git $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $("$PY" -c 'import torch; print(f"torch {torch.__version__}, CUDA {torch.version.cuda}")'), $(nproc) CPUs"

if [ -z "${LSBENCH_WEIGHTS_DIR:-}" ]; then
    export LSBENCH_WEIGHTS_DIR="$WORK/weights"
    run_logged "$WORK/weights.log" "$PY" - <<'PYEOF'
import os, sys
from pathlib import Path

sys.path.insert(0, "bench")
from harness import SHARED

from lsbench import weights as W
from lsbench.conformance.procedural import write_stand_in

packs = SHARED / "conformance"
if not packs.is_dir():
    sys.exit(f"{packs}: no conformance packs; set LSBENCH_SHARED, or LSBENCH_WEIGHTS_DIR to a folder with the weights")
out = Path(os.environ["LSBENCH_WEIGHTS_DIR"])
out.mkdir(parents=True, exist_ok=True)
for spec in W.all_specs():
    if spec.procedural and spec.filename in ("wav2lip.pth", "syncnet_v2.model", "sfd_face.pth"):
        write_stand_in(spec, packs, out)
PYEOF
    echo "weights: procedural stand-ins (conformance packs) in $LSBENCH_WEIGHTS_DIR"
else
    echo "weights: $LSBENCH_WEIGHTS_DIR"
fi

run_logged "$WORK/corpus.log" "$PY" -c "
from pathlib import Path
from lsbench.demo import build_corpus
shifts = [(0, 3, -2, 4, -3, 1)[i % 6] for i in range($CLIPS)]
build_corpus(Path('$WORK/corpus'), shifts, $SECS)
"
FRAMES_IN=$("$PY" -c "
from pathlib import Path
from lsbench import media
print(sum(len(media.read_frames(p)) for p in Path('$WORK/corpus').rglob('*.mp4')))
")
echo "corpus: $CLIPS synthetic LRS2 clips of $SECS s (lsbench demo's), $FRAMES_IN frames of 160x160"

shard_summary() {  # shard_summary OUT: "<clips kept> <frames kept>"
    "$PY" -c "
import sys
from pathlib import Path
import pyarrow.parquet as pq
files = sorted(Path(sys.argv[1], 'shards').glob('*.parquet'))
n = [pq.read_table(f, columns=['n_frames']).column('n_frames').to_pylist() for f in files]
print(sum(len(x) for x in n), sum(sum(x) for x in n))
" "$1"
}

prep_args=(--dataset lrs2 --root "$WORK/corpus" --split test --sync syncnet --sync-min-conf -1e9 --sync-max-offset 15 --no-progress)
t0=$(now)
run_logged "$WORK/preprocess_dlib.log" "$PY" -m lsbench.cli preprocess "${prep_args[@]}" --detector dlib --out "$WORK/prep_dlib"
t1=$(now)
read -r KEPT KEPT_FRAMES < <(shard_summary "$WORK/prep_dlib")
echo "preprocess A (dlib detector on CPU, SyncNet on $DEVICE): $FRAMES_IN frames in $(secs "$t0" "$t1") s -> $(per_s "$FRAMES_IN" "$(secs "$t0" "$t1")") frames/s ($KEPT of $CLIPS clips kept, $KEPT_FRAMES frames)"

t0=$(now)
run_logged "$WORK/preprocess_s3fd.log" "$PY" -m lsbench.cli preprocess "${prep_args[@]}" --detector s3fd --out "$WORK/prep_s3fd"
t1=$(now)
read -r KEPT_B KEPT_FRAMES_B < <(shard_summary "$WORK/prep_s3fd")
echo "preprocess B (S3FD and SyncNet on $DEVICE, procedural weights): $FRAMES_IN frames in $(secs "$t0" "$t1") s -> $(per_s "$FRAMES_IN" "$(secs "$t0" "$t1")") frames/s ($KEPT_B of $CLIPS clips kept: noise boxes)"

[ "$KEPT" -ge 2 ] || fail "preprocess A kept $KEPT clips; evaluate needs 2 (see $WORK/preprocess_dlib.log)"
t0=$(now)
run_logged "$WORK/evaluate.log" "$PY" -m lsbench.cli evaluate --model wav2lip --data "$WORK/prep_dlib" --metrics lse \
    --device "$DEVICE" --workers 1 --out "$WORK/results" --overwrite --no-progress
t1=$(now)
read -r EVAL_FRAMES EVAL_PAIRS EVAL_WALL < <("$PY" -c "
import json, sys
from pathlib import Path
doc = json.loads(next(Path(sys.argv[1]).glob('*.json')).read_text())
ok = [r for r in doc['rows'] if r['status'] == 'ok']
print(sum(r['n_frames'] for r in ok), len(ok), doc['run']['wall_s'])
" "$WORK/results")
echo "evaluate (wav2lip, lse, $DEVICE, $EVAL_PAIRS pairs): $EVAL_FRAMES frames in $(secs "$t0" "$t1") s -> $(per_s "$EVAL_FRAMES" "$(secs "$t0" "$t1")") frames/s (its own wall time $EVAL_WALL s -> $(per_s "$EVAL_FRAMES" "$EVAL_WALL") frames/s)"
