# replog — every entry point a developer or CI needs. `make test` is what CI runs.
SHELL := /bin/bash
NPM ?= npm
NODE ?= node
export NO_COLOR ?= 1

.PHONY: all install build test typecheck lint unit run bench bench-log clean

all: build

# npm ci only when node_modules is missing or older than the lock file.
node_modules/.stamp: package-lock.json package.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

install: node_modules/.stamp

build: install
	$(NPM) run --silent build

typecheck: install
	$(NPM) run --silent typecheck

lint: install
	$(NPM) run --silent lint

unit: install
	$(NPM) run --silent test

# Type check + lint + the whole vitest suite.
test: install
	$(NPM) run --silent typecheck
	$(NPM) run --silent lint
	$(NPM) run --silent test

run: build
	./bin/replog --help

bench: bench-log

bench-log: install
	$(NODE) --import tsx bench/log.bench.ts $(ARGS)

clean:
	rm -rf dist coverage
