# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit console bench clean system-deps vendor

# System packages, from Debian when we are root: Graphviz draws the causal maps (a plain SVG
# without it; it draws with Pango and HarfBuzz), DejaVu gives the PDF summary (Typst) its font,
# poppler-utils checks PDFs in the tests,
# Chromium runs Microsoft's Adaptive Cards renderer in the tests (Playwright never downloads one).
# HAProxy is the reverse proxy of the several-instances test, Prometheus' promtool checks /metrics
# and deploy/prometheus/ (the package's service is not started: only its promtool is used).
DEBIAN_PACKAGES := graphviz poppler-utils libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core chromium haproxy prometheus
system-deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done 2>/dev/null); \
	if ! command -v dpkg >/dev/null 2>&1; then \
	  echo "Not a Debian system: install Graphviz, poppler-utils and the DejaVu fonts yourself for PNG maps and the PDF's look, and Chromium at /usr/bin/chromium for the card renderer tests."; \
	elif [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian packages:" $$missing; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null) \
	      || echo "Could not install $$missing: causal maps will be plain SVG, PDF summaries may be unavailable, the card renderer, proxy and promtool tests skip (and fail in CI)."; \
	  else \
	    echo "Missing Debian packages ($$missing) and this user cannot install them: causal maps will be plain SVG, PDF summaries may be unavailable, the card renderer tests skip (apt-get install $$missing)."; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Coulisse needs Python 3.11 or newer (found %s)" % sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The official validators' npm packages, exactly as package-lock.json pins them, when npm is
# there; without it those tests skip (and fail in CI), and this says so each time.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  echo "npm ci (the Slack and Teams validators the tests run)"; \
	  npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
	  echo "No npm: the official Slack and Teams validator tests will skip (install Node.js 20+ and npm, then make test)."; \
	fi

# The web view's NL Design System CSS and the Teams client library, copied from the npm packages
# package-lock.json pins into bot/webapp/static/vendor/ (bot/webapp/vendor.py). The copies are
# committed, so a pip install works without npm; with node_modules they are made again here
# (tests/test_web_vendor.py fails when they differ from the pinned packages).
VENDOR_STAMP := bot/webapp/static/vendor/SOURCE.md
$(VENDOR_STAMP): $(NODE_STAMP) bot/webapp/vendor.py
	@if [ -f $(NODE_STAMP) ]; then $(PYTHON) bot/webapp/vendor.py; \
	else echo "No node_modules: the web view keeps its committed vendor files."; fi
vendor: $(VENDOR_STAMP)

demo: system-deps $(STAMP) vendor
	$(BIN)/coulisse demo

console: $(STAMP)
	$(BIN)/coulisse console

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The tests start `coulisse serve` many times; with PYTHONDONTWRITEBYTECODE set (CI images
# often do) each start would compile the project from source again, so compile it once here.
unit: $(STAMP) $(NODE_STAMP) vendor
	$(BIN)/python -m compileall -q bot handlers storage prompts tests bench >/dev/null
	$(BIN)/pytest -q

test: system-deps lint typecheck unit

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/loops.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/llm.py

clean:
	rm -rf $(VENV) coulisse-demo .pytest_cache .mypy_cache .ruff_cache node_modules .test-artifacts
