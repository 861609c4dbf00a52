# 消保通 (sqi): `make run` serves the demo, `make test` checks everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test install messages lint migrations-check pytest vendor bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -m pip install --quiet -e ".[dev]" 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -c "import django, celery, treebeard, rules, playwright" # fail loudly if the install did not
	touch $(STAMP)

install: $(STAMP)

messages: install
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0

# SQLite file, tasks in-process: nothing else needs to run.
run: export DATABASE_URL = sqlite:///$(CURDIR)/db.sqlite3
run: export REDIS_URL =
run: export DEBUG = true
run: messages
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --size small
	$(BIN)/python manage.py runserver 127.0.0.1:8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

migrations-check: install
	$(BIN)/python manage.py makemigrations --check --dry-run

pytest: messages
	$(BIN)/pytest

test: lint migrations-check pytest

# Re-fetch the vendored front-end libraries (ECharts, htmx) from the npm registry.
vendor:
	bash static/vendor/fetch.sh

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
