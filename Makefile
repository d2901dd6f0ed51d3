# virtcim: the README's two commands (`make run`, `make test`) and the
# developer's helpers. Every target installs what it needs and is missing, so
# a fresh Debian machine needs nothing else (as root, for the Debian packages).

SHELL := /bin/bash
# Prerequisites run left to right: packages, then the venv, then lint, then tests.
.NOTPARALLEL:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Stands for "pip install done"; older than the package metadata means redo it.
VENV_STAMP := $(VENV)/.virtcim-installed
PIP_TIMEOUT ?= 1800

HTTP_PORT ?= 5988
TEST_QEMU_URI ?= qemu:///system
# Extra pytest arguments, e.g. `make test PYTEST_ARGS=tests/libvirtd`.
PYTEST_ARGS ?=
# The folders this checkout has (git keeps no empty folder; ruff fails on a missing one).
LINT_PATHS := $(wildcard virtcim providers tests tools benchmarks)

# Which Debian packages scripts/install-system-deps makes sure of. A
# target-specific value is inherited by the target's prerequisites, so
# `make test` checks the test set once, on its way through `venv`.
DEPS_PROFILE := run
test: DEPS_PROFILE := test

export PYTHON

.PHONY: help run test lint ruff mypy bench venv system-deps clean distclean

help:
	@echo "make run     serve libvirt's built-in test driver on 127.0.0.1:$(HTTP_PORT)"
	@echo "make test    ruff, then pytest (starts a libvirtd with QEMU for the real-hypervisor tests)"
	@echo "make lint    ruff and mypy"
	@echo "make bench   run every benchmark and print its table"
	@echo "make clean   remove caches and build output (distclean: also $(VENV))"

run: venv
	exec $(BIN)/virtcim serve --uri test:///default --auth none --http-port $(HTTP_PORT)

# The daemon is left running afterwards: the next run, or another one running
# at the same time, uses it (`scripts/libvirtd stop` ends it).
test: venv ruff
	scripts/libvirtd start
	@status=0; \
	VIRTCIM_TEST_QEMU_URI=$(TEST_QEMU_URI) $(BIN)/pytest -q -p no:cacheprovider \
		--durations=10 $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then \
		echo "pytest collected no tests: the suite is missing or its collection is broken" >&2; \
	fi; \
	exit $$status

# Both checkers report, even when the first finds something.
lint: venv
	@status=0; \
	$(MAKE) --no-print-directory ruff || status=1; \
	$(MAKE) --no-print-directory mypy || status=1; \
	exit $$status

ruff:
	$(BIN)/ruff check $(LINT_PATHS)

mypy:
	$(BIN)/mypy

bench: venv
	benchmarks/run

venv: system-deps $(VENV_STAMP)

system-deps:
	scripts/install-system-deps $(DEPS_PROFILE)

$(VENV_STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing virtcim and its Python dependencies into $(VENV)"
	timeout $(PIP_TIMEOUT) $(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
