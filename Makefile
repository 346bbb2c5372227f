# Two commands a newcomer needs: `make run` (default pipeline on real IMDB) and `make test`.
# Both create/refresh the virtual environment first (scripts/install.sh, idempotent).
# EXTRAS=kubeflow,airflow adds the optional groups (kubeflow is the default on Python 3.11).
# Python 3.11 if there is one, else 3.10 (the TFX 1.16 family supports both).
PYTHON ?= $(shell command -v python3.11 || command -v python3.10 || echo python3.11)
VENV ?= .venv
DATA_DIR ?= $(if $(TEXTZOO_DATA_DIR),$(TEXTZOO_DATA_DIR),$(wildcard ../shared/corpora))
export VENV PYTHON
# `make test` installs the optional extras so their tests run rather than skip (on 3.10, which
# has no extra locks yet, the Airflow and Kubeflow tests skip and say so).
comma := ,
PY_VER = $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
TEST_EXTRAS = $(if $(filter 3.11,$(PY_VER)),kubeflow$(comma)airflow,none)

.PHONY: install run test bench bench-sequence bench-usem3 report lock clean

install:
	@scripts/install.sh

run: install
	$(VENV)/bin/textzoo run $(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(if $(CONFIG),--config $(CONFIG))

test:
	@EXTRAS=$(or $(EXTRAS),$(TEST_EXTRAS)) scripts/install.sh
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

# Benchmarks on the real IMDB data (tens of minutes; needs a finished `make run` for the
# serving and end-to-end sections). Results: bench/results/BENCH.md and bench.json.
bench: install
	@test -f runs/default/metadata.sqlite || { echo "run 'make run' first (bench reads its serving dir and ML-Metadata)"; exit 1; }
	$(VENV)/bin/python -m bench.run --data-dir $(or $(DATA_DIR),$(HOME)/.cache/textzoo) --output-dir runs/default $(BENCH_ARGS)
	@if test -d runs/imdb_sequence/pipeline/Transform/transformed_examples; then $(MAKE) bench-sequence; else echo "bench-sequence skipped: no runs/imdb_sequence"; fi
	$(MAKE) bench-usem3

# The SentenceEncoder's USE SavedModel against the usem3 package's own encoder, per sentence, on
# 1 000 corpus sentences (a few minutes). Results: bench/results/usem3_agreement.json.
bench-usem3: install
	PYTHONPATH=. $(VENV)/bin/python -m bench.usem3_agreement --data-dir $(or $(DATA_DIR),$(HOME)/.cache/textzoo) > bench/results/usem3_agreement.json

# Training examples/s of the sequence models, this tree against BEFORE (a git ref; default: the
# commit before the sequence speed-ups), each side's own run_fn on the pipeline outputs of
# finished runs of imdb_sequence, treebank and shakespeare in runs/ (a model whose run is
# missing is listed as not measured). Results: bench/results/SEQUENCE.md.
SEQUENCE_BEFORE ?= 91a7f69
bench-sequence: install
	@test -n "$(MODELS)" || test -d runs/imdb_sequence/pipeline/Transform/transformed_examples || { echo "run 'textzoo run --config imdb_sequence' first (the benchmark reads its Transform output), or give MODELS=..."; exit 1; }
	git worktree remove --force runs/bench-before 2>/dev/null || true
	git worktree add --detach runs/bench-before $(SEQUENCE_BEFORE)
	$(VENV)/bin/python bench/sequence_speed.py --runs runs --before runs/bench-before --reps 2 $(if $(MODELS),--models $(MODELS)) | tee bench/results/SEQUENCE.md

report: install
	$(VENV)/bin/textzoo report --output-dir runs/default

# Regenerates requirements/lock-py<version>.txt from requirements/stack.txt in a scratch venv.
lock:
	PYTHON=$(PYTHON) scripts/lock.sh

clean:
	rm -rf $(VENV) runs
