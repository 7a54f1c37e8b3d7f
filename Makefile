# socialpulse — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := src/socialpulse/web/static/vendor
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help run install accurate fine-tune dev-install assets migrate demo serve worker test lint typecheck architecture pytest bench clean lock

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "socialpulse needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python requirements/base.lock pyproject.toml
	$(BIN)/pip install -q -r requirements/base.lock
	$(BIN)/pip install -q --no-deps -e .
	@touch $@

$(VENV)/.installed-accurate: $(VENV)/.installed requirements/accurate.lock
	$(BIN)/pip install -q --no-deps -r requirements/accurate.lock
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed $(VENV)/.installed-accurate requirements/dev.lock
	$(BIN)/pip install -q -r requirements/dev.lock
	@touch $@

install: $(VENV)/.installed ## Create .venv and install socialpulse with pinned dependencies

accurate: $(VENV)/.installed-accurate ## Install the optional accurate AI backend (MiniLM on ONNX Runtime and multilingual-e5-small, ~220 MB)

# Training only: PyTorch fine-tunes MiniLM's layers for the accurate backend (the product runs
# them in ONNX Runtime, never in torch). On Linux, PyTorch's CPU wheels are enough:
# TORCH_INDEX=https://download.pytorch.org/whl/cpu where that index is reachable.
TORCH_INDEX ?=
fine-tune: $(VENV)/.installed-accurate ## Retrain every model and fine-tune MiniLM, with its cross-validation (installs PyTorch; ~70 min on 2 cores)
	$(BIN)/pip install -q $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch==2.13.0
	$(BIN)/socialpulse ai train --data ../shared/data --accurate

dev-install: $(VENV)/.installed-dev ## Install test and lint dependencies too (and the accurate backend)

$(VENDOR)/.built: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed once to vendor Chart.js, FullCalendar and Swagger UI (apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --silent
	mkdir -p $(VENDOR)
	cp node_modules/chart.js/dist/chart.umd.js $(VENDOR)/chart.umd.js
	cp node_modules/fullcalendar/index.global.min.js $(VENDOR)/fullcalendar.min.js
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css $(VENDOR)/
	@touch $@

assets: $(VENDOR)/.built ## Vendor Chart.js, FullCalendar, htmx and Swagger UI from the npm lock file (no CDN at run time)

migrate: install ## Apply database migrations
	$(BIN)/socialpulse migrate

demo: migrate ## Create or refresh the demo workspace and print its credentials
	$(BIN)/socialpulse demo

run: install assets migrate ## Install everything, prepare the demo workspace, start on http://127.0.0.1:8000
	$(BIN)/socialpulse demo
	$(BIN)/socialpulse serve

serve: install ## Start the web app (embedded worker) without touching demo data
	$(BIN)/socialpulse serve

worker: install ## Start a task worker (SOCIALPULSE_TASKS_URL=redis://...)
	$(BIN)/socialpulse worker

lint: dev-install ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: dev-install ## mypy (strict on untyped defs)
	$(BIN)/mypy

architecture: dev-install ## import-linter contracts: layers, domain boundaries, no import cycles
	$(BIN)/lint-imports

# Parallel test processes (pytest-xdist); each gets its own database. 1 runs them in-process.
PYTEST_WORKERS ?= 2
PYTEST_ARGS := $(if $(filter 1,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadgroup)

pytest: dev-install assets ## Run the test suite on SQLite, then on PostgreSQL + Redis when configured
	$(BIN)/pytest $(PYTEST_ARGS) --durations=5
	@if [ -n "$$SOCIALPULSE_TEST_POSTGRES_URL" ]; then \
		echo "== again on PostgreSQL ($$SOCIALPULSE_TEST_POSTGRES_URL) with Redis tasks =="; \
		SOCIALPULSE_TEST_BACKEND=postgres $(BIN)/pytest $(PYTEST_ARGS) --durations=5; \
	else echo "(SOCIALPULSE_TEST_POSTGRES_URL unset: PostgreSQL run skipped; .ci/run sets it)"; fi

test: lint typecheck architecture pytest ## Install test dependencies, run ruff, mypy and pytest

bench: dev-install ## Run every benchmark in benchmarks/ (http_load.py needs wrk: apt-get install wrk)
	@for b in benchmarks/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lock: ## Regenerate requirements/*.lock from a clean resolve of pyproject.toml
	rm -rf /tmp/sp-lock && $(PYTHON) -m venv /tmp/sp-lock
	/tmp/sp-lock/bin/pip install -q .
	/tmp/sp-lock/bin/pip freeze --exclude socialpulse > requirements/base.lock
	/tmp/sp-lock/bin/pip install -q ".[dev]"
	/tmp/sp-lock/bin/pip freeze --exclude socialpulse > requirements/dev.lock

clean: ## Remove the virtualenv and caches (keeps ./data)
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache .mypy_cache .ruff_cache
