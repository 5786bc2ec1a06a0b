# Two entry points: `make run` and `make test`. Both create .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck bench clean system-deps

# WeasyPrint needs Pango, fonts and (for fast font subsetting) HarfBuzz-subset. Install them
# from Debian when they are missing and we may (root with apt-get); otherwise say what is missing.
SYSTEM_LIBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
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
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The main job on the embedded SQLite default: a demo workspace built from the examples
# (idempotent: running it again changes nothing), then the catalog status.
DEMO := demo-workspace
TS := TOYSAFE_HOME=$(DEMO) TOYSAFE_DATABASE_URL= $(BIN)/toysafe
run: $(STAMP) system-deps
	$(TS) init --party examples/party.yaml
	$(TS) labs import examples/labs.csv
	$(TS) product add examples/products
	$(TS) report add examples/reports/stacker-chemistry-pass.json examples/reports/stacker-mechanical-pass.csv
	$(TS) listings import examples/listings/amazon-all-listings.txt
	$(TS) certify --all
	$(TS) status

test: $(STAMP) system-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/assess.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
