# replog — every entry point a developer or CI needs. `make test` is what CI runs.
SHELL := /bin/bash
NPM ?= npm
NODE ?= node
export NO_COLOR ?= 1

.PHONY: all install build test typecheck lint unit run bench bench-log clean gen gen-check bench-api bench-raft sim test-raft-core test-membership test-client

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
test: install gen-check
	$(NPM) run --silent typecheck
	$(NPM) run --silent lint
	$(NPM) run --silent test

run: build
	./bin/replog --help

bench: bench-log bench-api bench-raft

bench-log: install
	$(NODE) --import tsx bench/log.bench.ts $(ARGS)

clean:
	rm -rf dist coverage

# Generated protobuf code (src/gen) is committed. `make gen` regenerates it offline (buf + ts-proto
# from node_modules); `make gen-check` fails when the committed copy is stale.
gen: install
	$(NPM) run --silent gen

gen-check: install
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  PATH="$$PWD/node_modules/.bin:$$PATH" buf generate --template buf.gen.yaml -o "$$tmp" && \
	  if ! diff -r "$$tmp/src/gen" src/gen >/dev/null; then \
	    echo "src/gen is stale: proto/ changed without regenerating. Run 'make gen' and commit src/gen." >&2; \
	    diff -r "$$tmp/src/gen" src/gen | head -20 >&2; exit 1; \
	  fi

bench-api: install
	$(NODE) --import tsx bench/api.bench.ts $(ARGS)

# Raft core throughput (3 in-memory nodes, instant network); ARGS=--json for a JSON line.
bench-raft: install
	$(NODE) --import tsx bench/raft.bench.ts $(ARGS)

# Long seeded simulation runs, e.g. make sim ARGS="--seeds 100000"; replay: ARGS="--seed N --trace".
sim: install
	$(NPM) run --silent sim -- $(ARGS)

# The pure Raft core: unit tests and data-driven scenarios (REWRITE=1 regenerates test/raft/testdata).
test-raft-core: install
	npx vitest run test/raft/

# SWIM membership: seeded simulations (loss, partitions, restarts), hostile input, real UDP on loopback.
test-membership: install
	npx vitest run test/membership/

# The cluster client (ReplogClient) against a fake 3-node cluster, and the CLI on top of it.
test-client: install
	npx vitest run test/client/
