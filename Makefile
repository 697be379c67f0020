# replog — every entry point a developer or CI needs. `make test` is what CI runs.
SHELL := /bin/bash
NPM ?= npm
NODE ?= node
export NO_COLOR ?= 1
# The malloc settings replog runs with everywhere (tests, benchmarks, `make run`, the image):
# src/cli/malloc-tunables.ts says why; test/deploy/malloc-tunables.test.ts keeps the copies equal.
export GLIBC_TUNABLES ?= glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456

.PHONY: all install build test typecheck lint unit run bench bench-log clean gen gen-check bench-api bench-raft sim test-raft-core test-membership test-client bench-cluster test-deploy
.PHONY: bench-reads bench-peers chaos test-chaos

all: build

# npm ci only when node_modules is missing or older than the lock file (package.json alone is not
# a reason: editing its scripts must not reinstall under running jobs; a dependency change updates
# the lock file).
node_modules/.stamp: package-lock.json
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

# First run: install if needed, build, start a 3-node local cluster in ./data (reused next time).
# `replog cluster` prints the nodes and the commands to try once a leader is elected; Ctrl-C stops it.
run: build
	@echo "Starting 3 local nodes (data in ./data, kept for the next run; rm -rf data for a fresh cluster)..."
	@echo "Once the table is printed, in another terminal try the commands it shows. Ctrl-C stops every node."
	./bin/replog cluster --nodes 3 --data-dir ./data

# Deployment files (Dockerfile, compose, Kubernetes): offline checks, plus real clusters in
# network namespaces when run as root.
test-deploy: install
	npx vitest run test/deploy/

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

# 3 local agent processes (sync always) through the client library; ARGS="--json --seconds N".
bench-cluster: install
	$(NODE) --import tsx bench/cluster.bench.ts $(ARGS)

bench-api: install
	$(NODE) --import tsx bench/api.bench.ts $(ARGS)

# Cost of linearizable reads: Consume p50 plain vs linearizable on a 3-node local cluster; ARGS=--json.
bench-reads: install
	$(NODE) --import tsx bench/reads.bench.ts $(ARGS)

# Raft core throughput (3 in-memory nodes, instant network); ARGS=--json for a JSON line.
bench-raft: install
	$(NODE) --import tsx bench/raft.bench.ts $(ARGS)

# replog (1 and 3 nodes, sync always) vs NATS JetStream R1/R3 and etcd (3 members), same workload,
# all on 127.0.0.1; installs nats-server/etcd when missing. Saves bench/results/peers-<date>.{json,md}.
# PEERS_ARGS="--records 2000 --reps 1 --only replog3,nats3 --json" (defaults: 20000 records, 3 reps).
bench-peers: install
	bash bench/peers/ensure-peers.sh
	$(NODE) --import tsx bench/peers/run.ts $(PEERS_ARGS)

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

# Chaos: real agents under a seeded nemesis (partitions, kill -9, SIGSTOP, loss), then the history
# checker. `make chaos SEED=7 DURATION=10m [NODES=5] [NETWORK=auto|netns|proxy]` runs long (not in CI);
# `make test-chaos` runs the short CI schedule, the in-process power-loss mode and the checker's tests.
SEED ?=
DURATION ?= 10m
NODES ?= 3
NETWORK ?= auto
chaos: install
	$(NODE) --import tsx test/chaos/chaos-main.ts --duration $(DURATION) --nodes $(NODES) --network $(NETWORK) $(if $(SEED),--seed $(SEED),)

test-chaos: install
	npx vitest run test/chaos/
