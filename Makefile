# guestgate: `make run` starts the service on its embedded defaults, `make test` runs everything.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PY := .venv/bin/python
# Two processes: most tests wait on a server subprocess, so two share the two cores well.
PYTEST_ARGS ?= -n 2

.PHONY: bench run test lint typecheck pytest setup clean system-deps newman

run: .venv/.synced
	.venv/bin/guestgate serve $(ARGS)

test: .venv/.synced system-deps newman lint typecheck pytest

system-deps:
	bash scripts/system-deps.sh

# newman runs the Postman collection in the suite; pinned by clients/postman/package-lock.json.
newman: clients/postman/node_modules/.bin/newman

clients/postman/node_modules/.bin/newman: clients/postman/package-lock.json
	cd clients/postman && npm ci --no-audit --no-fund --silent
	@touch $@

setup: .venv/.synced

lint: .venv/.synced
	.venv/bin/ruff check guestgate tests bench
	.venv/bin/ruff format --check guestgate tests bench

typecheck: .venv/.synced
	.venv/bin/mypy

# The suite starts hundreds of guestgate processes: they read guestgate's bytecode from here.
pytest: .venv/.synced
	$(PY) -m compileall -q guestgate bench tests
	.venv/bin/pytest $(PYTEST_ARGS)

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv

# Bytecode compiled once here: with PYTHONDONTWRITEBYTECODE set (as on many build machines)
# every process would otherwise compile its imports again, a third of a server's start.
.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet --compile-bytecode
	@touch $@

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache

bench: .venv/.synced system-deps
	.venv/bin/python -m bench $(ARGS)
