# Two commands on a fresh machine: `make demo` and `make test` (they create .venv themselves).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
DEMO_OUT ?= results/quickstart

.PHONY: demo test venv bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/regretlab run experiments/quickstart.toml --out $(DEMO_OUT) --overwrite
	$(BIN)/regretlab show $(DEMO_OUT)
	@echo "plot: $(DEMO_OUT)/plots/regret.png"

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python -m pip install -q ".[bench]"
	$(BIN)/regretlab bench

lint: $(STAMP)
	$(BIN)/ruff check regretlab environments tests benchmarks

clean:
	rm -rf $(VENV) results build *.egg-info
