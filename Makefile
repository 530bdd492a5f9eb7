# PayGo Desktop: the everyday commands. `make run` starts the app, `make test` runs every check.
# Everything Python comes from requirements.lock (pinned, hashed); npm tools from package-lock.json.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test check-node lint typecheck pytest mutation lock screenshots bench package smoke clean \
	provider-check

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@PYTHON=$(PYTHON) scripts/preflight.sh python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

node_modules/.package-lock.json: package-lock.json
	@scripts/preflight.sh node
	npm ci --no-audit --no-fund --loglevel=error

# Qt's system libraries are checked against the installed plugin, so a missing one is named with its package.
run: install
	@VENV=$(VENV) scripts/preflight.sh gui
	$(BIN)/paygo-desktop

lint: install
	$(BIN)/ruff check paygo_desktop tests benchmarks
	$(BIN)/ruff format --check paygo_desktop tests benchmarks

typecheck: install
	$(BIN)/mypy

# The Qt tests run in a process of their own: no other test then shares their QApplication and its queue.
pytest: install node_modules/.package-lock.json
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q --ignore=tests/gui
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q tests/gui

# Node.js is checked first: without it the suite cannot start its chain, so say so before linting.
check-node:
	@scripts/preflight.sh node

# Planted bugs in a scratch copy of the vault must each make the contract tests fail (about 3 minutes).
mutation: install node_modules/.package-lock.json
	$(BIN)/python scripts/mutation_check.py

test: check-node lint typecheck pytest mutation

# Upgrade on purpose: re-resolve the newest versions allowed by pyproject.toml and pin them with hashes.
# requirements.lock has everything (the app, the provider, the tests, the installers' tools);
# requirements-provider.lock only what a server running the provider needs (no Qt), at the same versions.
lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml packaging/build-requirements.in --extra dev --extra gui --extra provider \
	  --generate-hashes --python-version 3.11 --no-header --no-annotate --prerelease=explicit -o requirements.lock
	cp requirements.lock requirements-provider.lock
	$(BIN)/uv pip compile pyproject.toml packaging/provider-build-requirements.in --extra provider \
	  --generate-hashes --python-version 3.11 --no-header --no-annotate --prerelease=explicit \
	  -o requirements-provider.lock

screenshots: install
	QT_QPA_PLATFORM=offscreen $(BIN)/python scripts/make_screenshots.py

bench: install
	$(BIN)/python benchmarks/startup.py

# The Linux installers (dist/*.tar.gz, dist/*.deb) from this checkout: docs/packaging.md.
package: install
	PYTHON=$(BIN)/python packaging/build_linux.sh

# CI's packaging check: build, run the bundle offscreen, unpack the .deb into a throwaway root and run its launcher.
smoke: package
	$(BIN)/python packaging/smoke_test.py build/bundle/paygo-desktop/paygo-desktop
	$(BIN)/python packaging/smoke_test.py --deb $(wildcard dist/paygo-desktop_*.deb)

# A server install, as a vendor makes it (docs/vendor-deployment.md): a fresh venv from requirements-provider.lock,
# the package without its dependencies, no Qt; the provider starts and answers its health check. CI runs it.
provider-check:
	PYTHON=$(PYTHON) scripts/provider_install_check.sh

clean:
	rm -rf $(VENV) build dist *.egg-info
