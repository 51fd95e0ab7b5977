# Two commands on a fresh machine: `make demo` and `make test` (they create .venv themselves).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_OUT ?= results/quickstart

.PHONY: demo test venv bench lint clean clean-cache

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# runtime install (make demo) and dev install (make test); re-run when pyproject.toml changes
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

venv: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	$(BIN)/regretlab run experiments/quickstart.toml --out $(DEMO_OUT) --overwrite
	$(BIN)/regretlab show $(DEMO_OUT)
	@echo "plot: $(DEMO_OUT)/plots/regret.png"

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed-dev
	$(BIN)/python -m pip install -q -e ".[bench]"
	$(BIN)/regretlab bench

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check regretlab environments tests benchmarks

# Numba's on-disk cache is keyed on each kernel file alone: after editing a function that kernels inline
# from another module (e.g. core/rng.py), drop the cache so every kernel recompiles.
clean-cache:
	find regretlab -name '*.nbi' -delete -o -name '*.nbc' -delete

clean: clean-cache
	rm -rf $(VENV) results build *.egg-info
