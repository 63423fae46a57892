# Set-up is part of every target: a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HISTORY := data/history_2017.xlsx data/history_2018.xlsx data/history_2019.xlsx data/history_2020.xlsx

.PHONY: route test model evaluate bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	touch $(STAMP)

# The main job: route the bundled February intake with the bundled default model.
route: $(STAMP)
	mkdir -p out
	$(BIN)/router route data/intake_2021.xlsx -o out/intake_2021_交办任务表.xlsx --date 2021-02-20

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Retrain the bundled default model from the bundled history and make it current.
model: $(STAMP)
	rm -rf models/default
	$(BIN)/router train $(HISTORY) --name default
	$(BIN)/router models promote default --force

evaluate: $(STAMP)
	$(BIN)/router evaluate $(HISTORY) --out reports

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) out
