# Set-up and the two entry points named at the top of README.md.
PY ?= python3
SHARED ?= $(or $(LSBENCH_SHARED),../shared)
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup browser shared demo check test conformance bench

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || { command -v apt-get >/dev/null || \
	  { echo "make: ffmpeg and ffprobe are needed and there is no apt-get here: install ffmpeg, then run make again"; exit 1; }; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq ffmpeg; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0  # the CPU wheel; a range would pull a CUDA build
	$(BIN)/pip install -q -e '.[dev]'
	# the reference implementation for tests and benchmarks; --no-deps: its torchvision pin would replace torch
	$(BIN)/pip install -q --no-deps syncnet-python==0.2.3 scenedetect==0.6.7.1
	# face-alignment for MakeItTalk's 3-D portrait landmarks; --no-deps: it asks for opencv-python, which would overwrite
	# the headless cv2 (its other needs are already here)
	$(BIN)/pip install -q --no-deps face-alignment==1.5.0
	touch $@

# headless Chromium + its driver for the leaderboard's browser tests (Debian packages, same version)
browser:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || { command -v apt-get >/dev/null || \
	  { echo "make: the leaderboard's browser tests need chromium and chromedriver and there is no apt-get here: install them"; exit 1; }; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver; }

demo: setup
	$(BIN)/lsbench demo

# glibc malloc settings for the test runs: by default each buffer above the mmap threshold (128 KB at start, at most
# 32 MB: torch activations, decoded frames) is mmap'd, handed back to the kernel on free and faulted in and zeroed
# again for the next; kept in the heap instead, the suite spent 14% of its CPU in the kernel instead of 16%, and
# `make test` took 14 min 37 s instead of 16 min 8-20 s (2026-12-05; docs/benchmarks.md)
MALLOC := MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_TOP_PAD_=268435456

# the fast tier, before every commit: unit tests, the conformance packs, the CLI contract (no Ray, no Chromium)
check: setup shared
	$(MALLOC) LSBENCH_SHARED=$(SHARED) LSBENCH_TEST_TIER=check $(BIN)/python -m pytest -q -n 2 --dist loadgroup -m "not slow"

# the whole suite on two workers; the tests that start Ray share one of them (xdist_group "ray"); one torch thread
# per worker, so that the two workers do not fight over the two cores (-n 3 was measured slower: the Ray group,
# beside two busy workers, became the whole run's length)
test: setup browser shared
	$(MALLOC) OMP_NUM_THREADS=1 LSBENCH_SHARED=$(SHARED) $(BIN)/python -m pytest -q -n 2 --dist loadgroup --durations=20

# the tests read ../shared (media, conformance packs): one line when it is not there
shared:
	@test -d $(SHARED)/conformance -a -d $(SHARED)/media || \
	  { echo "make test: $(SHARED) (media/, conformance/) not found: put the shared folder beside this checkout, or pass SHARED=DIR"; exit 1; }

conformance: setup
	$(BIN)/lsbench conformance $(SHARED)/conformance  # every pack a registration names (lsbench/registry.py)

# every benchmark script (bench/gpu.sh needs a GPU: run it by hand), each printing lsbench against its reference side by side (docs/benchmarks.md);
# scale.py at BENCH_N clips (its own default, 5,000, takes about 20 min here)
BENCH_N ?= 500
bench: setup
	LSBENCH_SHARED=$(SHARED) $(BIN)/python bench/score_vs_syncnet_python.py
	LSBENCH_SHARED=$(SHARED) $(BIN)/python bench/preprocess_vs_reference.py
	LSBENCH_SHARED=$(SHARED) $(BIN)/python bench/evaluate_vs_official.py
	$(BIN)/python bench/scale.py --n $(BENCH_N) --small $$(( $(BENCH_N) / 10 ))
