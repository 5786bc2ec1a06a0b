# Two entry points: `make run` and `make test`. Both create .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The suite runs on every core (pytest-xdist); one test file stays on one worker, so a module's
# shared Spark session or browser starts once.
TEST_WORKERS ?= auto

.PHONY: run test lint typecheck bench clean system-deps

# WeasyPrint needs Pango, fonts and (for fast font subsetting) HarfBuzz-subset; the browser
# tests drive Debian's Chromium (Playwright's own browser download does not work here). Install them
# from Debian when they are missing and we may (root with apt-get); otherwise say what is missing.
SYSTEM_LIBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core chromium
system-deps:
	@missing=""; for p in $(SYSTEM_LIBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: missing system packages:$$missing (PDF rendering may fail or be slow)"; fi; \
	fi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,spark]"
	touch $(STAMP)

# The main job on the embedded SQLite default: a demo workspace built from the examples
# (idempotent: running it again changes nothing), then the catalog status.
DEMO := demo-workspace
DEMO_PASSWORD := toysafe-demo
HOST ?= 127.0.0.1
PORT ?= 8000
TS := TOYSAFE_HOME=$(DEMO) TOYSAFE_DATABASE_URL= $(BIN)/toysafe
run: $(STAMP) system-deps
	$(TS) init --party examples/party.yaml
	$(TS) labs import examples/labs.csv
	$(TS) product add examples/products
	$(TS) report add examples/reports/stacker-chemistry-pass.json examples/reports/stacker-mechanical-pass.csv
	$(TS) listings import examples/listings/amazon-all-listings.txt
	$(TS) status
	$(TS) share MM-STK-07 --lab 1234
	printf '%s\n' '$(DEMO_PASSWORD)' | $(TS) users add seller@demo.example --org default --role seller --password-stdin --exists-ok
	printf '%s\n' '$(DEMO_PASSWORD)' | $(TS) users add lab@demo.example --org example-lab --role lab --lab-id 1234 --password-stdin --exists-ok
	printf '%s\n' '$(DEMO_PASSWORD)' | $(TS) users add reviewer@demo.example --org marketplace --role reviewer --password-stdin --exists-ok
	$(TS) enroll default --reviewer marketplace
	TOYSAFE_HOME=$(DEMO) TOYSAFE_DATABASE_URL= DEMO_PASSWORD=$(DEMO_PASSWORD) $(BIN)/python examples/program/demo.py
	@echo "toysafe web app: http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/docs)"
	@echo "demo logins (password $(DEMO_PASSWORD)): seller@demo.example, lab@demo.example, reviewer@demo.example"
	@echo "marketplace program (API under /api/v1/program): market@demo.example (reviewer), hoppy@demo.example, rival@demo.example (sellers)"
	$(TS) serve --host $(HOST) --port $(PORT)

test: $(STAMP) system-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/assess.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
