# Two entry points for a newcomer (README): `make report` and `make test`.
# Everything installs into .venv inside the checkout; nothing global but Chromium.

VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
# DVC's anonymous usage statistics would try the network on every call.
export DVC_NO_ANALYTICS := 1

.PHONY: install data repro report readme screenshots test lint chromium

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/.installed

## data: materialise data/ from ../shared/foxdog-raw (fails if it no longer matches data.dvc)
data: install
	foxdog data fetch && foxdog data fetch --dvc-file pretrain.dvc

## repro: run every DVC stage that is out of date
repro: data
	dvc repro

## report: install, fetch the data, run the pipeline, render _site/index.html
report: repro readme
	@echo "open _site/index.html"

## readme: refresh the numbers block of README.md from metrics/ and results/
readme: install
	foxdog readme

## chromium: the browser the report tests drive (Debian package)
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## screenshots: the Overview and Insights of the rendered _site/ at 1280 px, into docs/
screenshots: chromium
	FOXDOG_SITE=_site FOXDOG_SCREENSHOTS=docs/screenshots FOXDOG_SCREENSHOT_HEIGHT=2400 \
	  pytest tests/test_report_browser.py -q -k "renders_offline and (index or insights)"

## test: the whole test suite (lint included)
test: lint chromium
	pytest

lint: install
	ruff check . && ruff format --check .
