# Two commands a newcomer needs: `make run` (default pipeline on real IMDB) and `make test`.
# Both create/refresh the virtual environment first (scripts/install.sh, idempotent).
PYTHON ?= python3.11
VENV ?= .venv
DATA_DIR ?= $(if $(TEXTZOO_DATA_DIR),$(TEXTZOO_DATA_DIR),$(wildcard ../shared/corpora))
export VENV PYTHON

.PHONY: install run test lock clean

install:
	@scripts/install.sh

run: install
	$(VENV)/bin/textzoo run $(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(if $(CONFIG),--config $(CONFIG))

test: install
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

# Regenerates requirements/lock.txt from requirements/stack.txt in a scratch venv.
lock:
	scripts/lock.sh

clean:
	rm -rf $(VENV) runs
