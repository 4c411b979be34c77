# Two commands do all the set-up: `make run` and `make test`. Both create .venv when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint typecheck clean

$(STAMP): pyproject.toml
	@echo "Setting up $(VENV) (first run only; a minute or two)..." >&2
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]' >&2
	@touch $(STAMP)

run: $(STAMP)
	@$(PY) -m bot

test: $(STAMP)
	$(PY) -m ruff check bot tests
	$(PY) -m ruff format --check bot tests
	$(PY) -m mypy
	$(PY) -m pytest -q

bench: $(STAMP)
	@$(PY) -m bot.bench

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
