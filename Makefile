# Set-up is part of every target: a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HISTORY := data/history_2017.xlsx data/history_2018.xlsx data/history_2019.xlsx data/history_2020.xlsx
# The default model ships inside the package, so that `router route` works after `pip install` anywhere.
BUNDLED := src/router/resources/models

.PHONY: route test browser model evaluate bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	touch $(STAMP)

# The main job: route the bundled February intake with the bundled default model.
route: $(STAMP)
	mkdir -p out
	$(BIN)/router route data/intake_2021.xlsx -o out/intake_2021_交办任务表.xlsx --date 2021-02-20

# The browser tests drive Debian's Chromium (never a browser downloaded by a test tool); a CJK
# font makes their screenshots legible. Installed only when missing, and only as root.
CHROMIUM := /usr/bin/chromium
# Another apt-get (an unattended upgrade, a second session) holds Debian's package lock: wait for
# it, up to ten minutes, instead of failing at once.
APT_WAIT := -o DPkg::Lock::Timeout=600
browser:
	@if [ ! -x $(CHROMIUM) ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get $(APT_WAIT) update -qq && DEBIAN_FRONTEND=noninteractive apt-get $(APT_WAIT) install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null; \
	  else echo "browser tests will be skipped: install chromium and chromium-driver (as root: apt-get install chromium chromium-driver)"; fi; \
	fi

# The whole suite, the command README names and .ci/run calls. Fixtures that train or evaluate
# run once per run, shared by the xdist workers under a file lock (tests/conftest.py);
# xdist_group cannot do it under pytest 9. While developing, `-m "not slow"` leaves out the
# tests marked slow.
test: $(STAMP) browser
	$(BIN)/python -m pytest -q -n auto

# Retrain the bundled default model (inside the package) from the bundled history and make it current.
model: $(STAMP)
	rm -rf $(BUNDLED)/default
	$(BIN)/router train $(HISTORY) --models $(BUNDLED) --name default
	$(BIN)/router models promote default --force --models $(BUNDLED)

evaluate: $(STAMP)
	$(BIN)/router evaluate $(HISTORY) --out reports

# The command reference, from every command's --help (tests/test_docs.py fails when it is stale).
docs: $(STAMP)
	$(BIN)/python docs/make_cli_reference.py

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) out
