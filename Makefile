# Two commands on a fresh machine: `make site` then `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BASE_URL ?=

.PHONY: site build test test-fast serve clean bench lint

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

site: $(STAMP)
	$(PY) -m generator build $(if $(BASE_URL),--base-url $(BASE_URL))

build: site

serve: $(STAMP)
	$(PY) -m generator serve

# The browser tests' checkers (axe-core, vnu-jar, linkinator) from the committed
# package-lock.json; --ignore-scripts: vnu-jar's postinstall would fetch a Java.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $(NODE_STAMP)

# Everything, browser tests included (they fail, never skip, without Chromium/Java/npm).
test: $(STAMP) $(NODE_STAMP)
	$(PY) -m mypy generator
	$(PY) -m pytest -q

# Without the browser: quick checks while editing.
test-fast: $(STAMP)
	$(PY) -m pytest -q --ignore=tests/browser

lint: $(STAMP)
	$(PY) -m mypy generator

clean:
	rm -rf public .cache .pytest_cache

# Benchmark against Hugo and Pelican (bench/README.md). Override with
# e.g. `make bench BENCH_ARGS="--sizes 1000 --reps 3"`.
BENCH_ARGS ?= --sizes 1000,10000 --reps 3
bench: $(STAMP)
	$(PY) -m pip install --quiet -r bench/requirements.txt
	$(PY) -m bench.run $(BENCH_ARGS)
