# marketplace-mesh: `make run` starts the whole system; `make test` runs every check.
SHELL := /bin/bash
PY := .venv/bin/python
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: install run run-single migrate gen web lint check-gen buf-lint buf-breaking test test-fast fuzz clean

install: .venv/.installed

.venv/.installed: pyproject.toml uv.lock
	@command -v uv >/dev/null || python3 -m pip install --quiet uv==0.13.8
	uv sync --frozen
	@touch $@

run: install
	$(PY) -m services up

run-single: install
	$(PY) -m services up --single

migrate: install
	$(PY) -m services migrate

gen: install
	tools/gen.sh

# The storefront only (edge/web/ → edge/web/dist/); `make gen` runs it too. Needs Node (see edge/web/README.md).
web:
	tools/build_web.sh

check-gen: install
	tools/check_gen_fresh.sh

buf-lint: install
	$(PY) tools/extract_validate.py third_party/validate.binpb
	buf lint gen/descriptors/marketplace.binpb

buf-breaking: install
	tools/buf_breaking.sh $${BUF_AGAINST:-HEAD~1}

lint: install buf-lint
	ruff check .
	ruff format --check .
	mypy services tests tools bench

test: install check-gen lint buf-breaking
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -x

# A longer fuzz run than `make test`'s, with new examples each time (FUZZ_SEED=<n> to reproduce one).
FUZZ_EXAMPLES ?= 200
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q --timeout=0 tests/fuzz

clean:
	rm -rf .venv third_party .mypy_cache .ruff_cache .pytest_cache edge/web/node_modules
