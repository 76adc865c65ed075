# The only set-up a user needs: `make run` and `make test`.
# Everything goes into .venv; the user's own Python and pip configuration are left alone.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Tests never open the user's display; the real-window test starts its own Xvfb.
TEST_ENV := QT_QPA_PLATFORM=offscreen PYTHONDONTWRITEBYTECODE=1

.PHONY: install run test lint-imports bench screenshot screenshot-training clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/mammoview --demo

lint-imports: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache

test: $(STAMP)
	@bash scripts/system-deps.sh
	$(MAKE) --no-print-directory lint-imports
	$(TEST_ENV) $(VENV)/bin/pytest -q -p no:cacheprovider

# The benchmarks compare against reference packages (the lime package...) that the app
# itself does not need: they come with the "bench" extra.
$(VENV)/.installed-bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	@touch $@

bench: $(VENV)/.installed-bench
	@for b in bench/bench_*.py; do echo "== $$b"; $(TEST_ENV) $(PY) $$b || exit 1; done

# Regenerates docs/screenshot.png (the README's picture) in a real X window under Xvfb.
screenshot: $(STAMP)
	@bash scripts/system-deps.sh
	tmp=$$(mktemp -d) && xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb \
		MAMMOVIEW_CONFIG_DIR=$$tmp/config MAMMOVIEW_DATA_DIR=$$tmp/data MAMMOVIEW_LAYERS=breast \
		$(VENV)/bin/mammoview --demo --screenshot docs/screenshot.png; rm -rf $$tmp

# Regenerates docs/training-dialog.png: the training dialog during a real (short) run.
screenshot-training: $(STAMP)
	@bash scripts/system-deps.sh
	tmp=$$(mktemp -d) && xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb \
		MAMMOVIEW_CONFIG_DIR=$$tmp/config MAMMOVIEW_DATA_DIR=$$tmp/data \
		$(PY) -m mammoview.gui.training_screenshot docs/training-dialog.png; rm -rf $$tmp

clean:
	rm -rf $(VENV) build *.egg-info
