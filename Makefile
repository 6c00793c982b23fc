# zongzhi-gateway — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := .make
# Debian packages the tests and the demo use: media peers, the browser, CJK fonts, sipp.
DEBIAN_PACKAGES := ffmpeg chromium fonts-noto-cjk python3-gst-1.0 gir1.2-gst-rtsp-server-1.0 \
	gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly \
	gstreamer1.0-libav sip-tester
PG_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.DEFAULT_GOAL := help
.PHONY: help deps demo serve migrate test test-pg lint format bench soak clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

$(STAMP)/debian: Makefile
	@mkdir -p $(STAMP)
	@echo "==> [1/2] Debian packages: checking $(words $(DEBIAN_PACKAGES)) (media peers, browser, CJK fonts, sipp)"
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  sudo=""; \
	  if [ "$$(id -u)" != 0 ]; then \
	    if command -v sudo >/dev/null; then sudo=sudo; \
	    else echo "==> installing Debian packages needs root: run 'make deps' as root or install:" $$missing; exit 1; fi; \
	  fi; \
	  echo "==> installing Debian packages with apt-get ($${sudo:-root}):" $$missing; \
	  $$sudo apt-get update -q && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else echo "    all present"; fi
	@touch $@

$(STAMP)/python: pyproject.toml
	@mkdir -p $(STAMP)
	@echo "==> [2/2] Python venv $(VENV): packages from pyproject.toml (a few minutes the first time)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@set -o pipefail; $(PY) -m pip install --progress-bar off -e '.[test,dev,bench]' \
	  | sed -nE 's/^(Collecting|Successfully installed)/    \1/p'
	@echo "    venv ready: $$($(PY) -m pip list 2>/dev/null | tail -n +3 | wc -l) packages"
	@touch $@

deps: $(STAMP)/debian $(STAMP)/python ## install Debian packages and the Python venv (idempotent)

migrate: deps ## create or upgrade the database schema
	$(PY) -m gateway migrate

demo: deps ## run the gateway on embedded defaults with demo data: http://127.0.0.1:8080
	@echo "==> demo: migrating, seeding demo data, starting 16 simulated cameras and the gateway"
	$(PY) -m gateway serve --demo --demo-cameras 16

serve: deps ## run the gateway (database must be migrated)
	$(PY) -m gateway serve

test: deps ## run every test on SQLite (and PostgreSQL tests when GATEWAY_TEST_DATABASE_URL is set)
	@echo "==> tests: the whole suite on SQLite (~25 min on 2 cores; one dot per test, slowest 15 listed at the end)"
	$(PY) -m pytest

test-pg: deps ## run the database tests again on PostgreSQL ($(PG_TEST_URL))
	GATEWAY_TEST_DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest -m db

lint: deps ## ruff (lint + format check) and mypy --strict on the product packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: deps ## apply ruff's formatting and autofixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: deps ## run the benchmarks in bench/ (figures go to BENCHMARKS.md; ~25 min)
	$(PY) -m bench.bench_ingest --gst 1 5 10 20 40
	$(PY) -m bench.bench_live
	$(PY) -m bench.bench_recordings
	$(PY) -m bench.bench_cases
	$(PY) -m bench.bench_uplink --gst 1 10 20 40 --sip 2000

soak: deps ## one hour: 40 cameras recording, viewers churning; charts in bench/soak-results
	$(PY) -m bench.soak --cameras 40 --minutes 60 --out bench/soak-results

clean: ## remove the venv, stamps and caches (not the data directory)
	rm -rf $(VENV) $(STAMP) .pytest_cache .mypy_cache .ruff_cache *.egg-info
