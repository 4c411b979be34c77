# Two commands do all the set-up: `make run` and `make test`. Both create .venv when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# pytest-xdist workers on a 2-core machine: most tests wait (on the stand-ins, on Telegram's
# pacing, on a child process) rather than compute: pytest used about 100 s of CPU in all, so 5
# workers keep the two cores busy; each worker costs ~3 s of CPU to collect the tests. Measured
# on this machine shared with other work: -n 3 177 s, -n 4 115-120 s, -n 5 95 s, -n 6 91 s;
# with the bots, the deal feed, the dashboard and its browser tests, on a quiet machine:
# -n 5 100-102 s, -n 6 92-94 s. The latency bounds tests keep (another user answered within
# 1 s during a flood) held in every run at 5 and 6. Heavy tests start first, one per worker
# (tests/conftest.py).
# --dist loadgroup: the browser tests share one worker (their xdist_group), so one Chromium
# and one bot serve them all instead of one per worker; every other test is dealt one at a time.
TEST_WORKERS ?= 6

.PHONY: run test bench clean translations screenshots

$(STAMP): pyproject.toml
	@echo "Setting up $(VENV) (on the first run and after pyproject.toml changes)..." >&2
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@( $(PY) -m pip install --disable-pip-version-check --upgrade pip && \
	   $(PY) -m pip install --disable-pip-version-check -e '.[dev]' ) > $(VENV)/install.log 2>&1 \
	   || { cat $(VENV)/install.log >&2; echo "Installing failed; the log is $(VENV)/install.log" >&2; exit 1; }
	@touch $(STAMP)

run: $(STAMP)
	@$(PY) -m bot

test: $(STAMP)
	$(PY) -m ruff check bot standins bench tests
	$(PY) -m ruff format --check bot standins bench tests
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

# The README's pictures of the dashboard: the browser tests write them (390×844, headless
# Chromium) into the git-ignored screenshots/; this copies them into docs/, to commit.
SCREENSHOTS := miniapp-light.png miniapp-dark.png miniapp-ru.png
screenshots: $(STAMP)
	$(PY) -m pytest -q tests/test_miniapp_browser.py
	cp $(addprefix screenshots/,$(SCREENSHOTS)) docs/

bench: $(STAMP)
	@$(PY) -m bench

# The catalogs: sentences marked in bot/telegram/views/texts.py go into bot/locales/bot.pot,
# each language's bot.po gains the new ones (empty, to translate) and loses the gone ones, and
# the bot.mo files the bot reads are compiled (and committed: `make run` compiles nothing).
# A new language: `$(VENV)/bin/pybabel init -i bot/locales/bot.pot -d bot/locales -D bot -l xx`.
LOCALES := bot/locales
translations: $(STAMP)
	$(VENV)/bin/pybabel extract --no-default-keywords -k N_ -k NP_:1,2 --no-location \
	  --sort-output --no-wrap --project=threecommas-telegram-bot --copyright-holder="" \
	  -o $(LOCALES)/bot.pot bot/telegram/views/texts.py
	$(VENV)/bin/pybabel update -i $(LOCALES)/bot.pot -d $(LOCALES) -D bot --no-fuzzy-matching \
	  --ignore-obsolete --no-wrap
	$(VENV)/bin/pybabel compile -d $(LOCALES) -D bot --statistics

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
