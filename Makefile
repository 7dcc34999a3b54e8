# Avio — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
DATABASE_URL ?= data/avio.sqlite
RELEASE_DIR := .build-release
BIN := .build/debug/avio
APT_RUNTIME := libsqlite3-dev libssl-dev libqrencode-dev zlib1g-dev
APT_TEST := zbar-tools librsvg2-bin chromium chromium-driver curl
# Python tools of the test suite, pinned (PyPI); installed only when missing.
PIP_TEST := selenium==4.51.0 openapi-spec-validator==0.9.0
APT_BENCH := wrk gcc libc6-dev curl binutils

export DATABASE_URL

REL := tests/reliability

.PHONY: deps-reliability run test build release migrate embed deps deps-test deps-bench bench diag diag-verbose fuzz clean help

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# Installs only the Debian packages that are missing (sudo when not root).
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

deps: ## install missing system packages for building and running
	$(call apt_install,$(APT_RUNTIME))

deps-test: deps ## install missing system and Python packages for the tests
	$(call apt_install,$(APT_TEST))
	@for p in $(PIP_TEST); do python3 -m pip show -q "$${p%%==*}" >/dev/null 2>&1 || python3 -m pip install -q "$$p"; done

deps-bench: deps ## install missing system packages for benchmarks
	$(call apt_install,$(APT_BENCH))

embed: ## regenerate the embedded admin page / OpenAPI source from static/ and openapi.yaml
	@python3 scripts/embed_static.py

build: deps embed ## debug build
	$(SWIFT) build

release: deps embed ## optimized, stripped, self-contained binary (Swift runtime linked in) at .build-release/release/avio
	$(SWIFT) build -c release --scratch-path $(RELEASE_DIR) --static-swift-stdlib -Xswiftc -gnone
	@strip $(RELEASE_DIR)/release/avio 2>/dev/null || true
	@ls -l $(RELEASE_DIR)/release/avio

migrate: build ## apply migrations to DATABASE_URL and print the schema of leads/messages/contacts
	$(BIN) migrate

run: build ## build, migrate and serve on :8000 with data/avio.sqlite
	$(BIN) migrate >/dev/null
	$(BIN) serve

test: deps-test deps-reliability embed ## build and run every test
	python3 scripts/embed_static.py --check
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	AVIO_BIN=$(BIN) tests/browser/run.sh
	AVIO_BIN=$(BIN) tests/scripts/diag_test.sh
	AVIO_BIN=$(BIN) python3 $(REL)/crash_test.py
	FUZZ_EXAMPLES=50 FUZZ_MIN_REQUESTS=1000 AVIO_BIN=$(BIN) $(REL)/fuzz.sh

deps-reliability: ## pinned Schemathesis in tests/reliability/.venv (for the fuzz runs)
	@$(REL)/.venv/bin/st --version 2>/dev/null | grep -q 'version 4.32.5' || \
	  { python3 -m venv $(REL)/.venv && $(REL)/.venv/bin/pip install -q --disable-pip-version-check -r $(REL)/requirements.txt; }

fuzz: deps-reliability build ## long Schemathesis run against /openapi.yaml (≥ 2,000 requests)
	FUZZ_EXAMPLES=100 FUZZ_MIN_REQUESTS=2000 AVIO_BIN=$(BIN) $(REL)/fuzz.sh

bench: deps-bench release ## load benchmarks on the release binary (not part of make test); prints one table
	@bench/run.sh

diag: ## terse health check of a running Avio (AVIO_URL, ADMIN_TOKEN)
	scripts/diag.sh

diag-verbose: ## the same, verbose
	DIAG_VERBOSE=1 scripts/diag.sh

clean: ## remove build folders
	rm -rf .build $(RELEASE_DIR)
