# The two commands of the README: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The compiled parts of ingestion (setup.py), built in place beside their Python references.
COMPILED := $(VENV)/.compiled
EXTENSIONS := monitoring/_cingest.c

.PHONY: demo test lint typecheck pytest venv clean

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

$(COMPILED): $(STAMP) setup.py $(EXTENSIONS)
	@$(PY) setup.py --quiet build_ext --inplace --build-temp var/build \
		|| echo "!! no C compiler: ingestion runs its Python versions (the same results, slower)"
	@touch $(COMPILED)

venv: $(COMPILED)

## Run the product locally: embedded or local PostgreSQL and Redis, web, worker and beat.
demo: $(COMPILED)
	$(PY) -m devtools.devservices demo

## Lint, type-check and run every test on real PostgreSQL and Redis.
test: $(COMPILED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m devtools.devservices run --redis-db 15 -- \
		sh -c '$(VENV)/bin/mypy . && $(PY) -m pytest $(PYTEST_ARGS)'


clean:
	rm -rf var/static var/celerybeat-schedule .pytest_cache .mypy_cache
