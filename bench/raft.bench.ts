/**
 * Raft core throughput: a 3-node cluster in one process with an instant network and instant
 * persistence (MemoryStorage), so only the core and a minimal driver are measured.
 *
 *   make bench-raft                  # table
 *   make bench-raft ARGS=--json      # also one JSON object on the last line
 *   ARGS="--duration-ms 5000"        # longer runs
 *
 * Each case proposes batches of 1 KiB entries to the leader and drains every message and Ready
 * until the batch is committed on the leader. Reported: committed entries per second, and CPU
 * microseconds per entry spent inside the core (step/propose/ready/advance/hasReady) and in all.
 * Every loop is bounded both in time and in count.
 */
import { MemoryStorage, RaftCore } from '../src/raft/core/index.js';
import { EntryType, type Message, type NodeId, type Proposal, type RaftOptions } from '../src/raft/core/types.js';
import { Prng } from '../src/util/prng.js';
import { DEFAULT_RAFT_OPTIONS } from '../src/raft/options.js';

const ENTRY_BYTES = 1024;
const TARGET_ENTRIES_PER_SEC = 500_000;
const MAX_ENTRIES_PER_CASE = 50_000_000;
const MAX_DRAIN_STEPS = 1_000_000;
/** Compact every node's log to this many entries behind its commit, to bound memory. */
const RETAINED_ENTRIES = 1_000;

interface BenchNode {
  id: NodeId;
  core: RaftCore;
  storage: MemoryStorage;
}

interface CaseResult {
  batch: number;
  entries: number;
  seconds: number;
  entriesPerSec: number;
  coreMicrosPerEntry: number;
  totalMicrosPerEntry: number;
}

/** The agent's own tuning. */
const OPTIONS: Omit<RaftOptions, 'id'> = DEFAULT_RAFT_OPTIONS;

class Cluster {
  readonly nodes: BenchNode[];
  private readonly queue: Message[] = [];
  /** Milliseconds spent inside core calls. */
  coreMs = 0;

  constructor(seed: number) {
    const ids = ['n1/bench', 'n2/bench', 'n3/bench'];
    const prng = new Prng(seed);
    this.nodes = ids.map((id) => {
      const storage = MemoryStorage.bootstrap({ voters: ids, learners: [] });
      return { id, storage, core: new RaftCore({ ...OPTIONS, id }, storage, prng.fork()) };
    });
  }

  leader(): BenchNode {
    const n = this.nodes.find((x) => x.core.status().role === 'leader');
    if (n === undefined) throw new Error('no leader');
    return n;
  }

  elect(): void {
    const first = this.nodes[0]!;
    first.core.campaign();
    this.drain();
    for (let i = 0; i < 1_000 && !this.nodes.some((n) => n.core.status().role === 'leader'); i++) {
      for (const n of this.nodes) n.core.tick();
      this.drain();
    }
    this.leader();
  }

  propose(node: BenchNode, batch: Proposal[]): void {
    const t = performance.now();
    node.core.propose(batch);
    this.coreMs += performance.now() - t;
  }

  /** Delivers every message and handles every Ready until the cluster is quiet. */
  drain(): void {
    for (let step = 0; step < MAX_DRAIN_STEPS; step++) {
      let busy = false;
      for (const n of this.nodes) busy = this.handleReady(n) || busy;
      const msg = this.queue.shift();
      if (msg !== undefined) {
        busy = true;
        const to = this.nodes.find((n) => n.id === msg.to);
        if (to !== undefined) {
          const t = performance.now();
          to.core.step(msg);
          this.coreMs += performance.now() - t;
        }
      }
      if (!busy) return;
    }
    throw new Error(`cluster still busy after ${MAX_DRAIN_STEPS} steps`);
  }

  compact(): void {
    for (const n of this.nodes) {
      const to = n.storage.hardState().commit - RETAINED_ENTRIES;
      if (to > n.storage.firstIndex()) n.storage.compact(to);
    }
  }

  private handleReady(n: BenchNode): boolean {
    let t = performance.now();
    const has = n.core.hasReady();
    const rd = has ? n.core.ready() : null;
    this.coreMs += performance.now() - t;
    if (rd === null) return false;
    for (const m of rd.messages) this.queue.push(m);
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    for (const m of rd.messagesAfterPersist) this.queue.push(m);
    t = performance.now();
    n.core.advance(rd);
    this.coreMs += performance.now() - t;
    return true;
  }
}

function runCase(batchSize: number, durationMs: number): CaseResult {
  const cluster = new Cluster(batchSize);
  cluster.elect();
  const payload = new Uint8Array(ENTRY_BYTES).fill(7);
  const batch: Proposal[] = Array.from({ length: batchSize }, () => ({ type: EntryType.Data, data: payload }));
  const leader = cluster.leader();
  const startCommit = leader.core.status().commit;
  cluster.coreMs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let proposed = 0;
  for (let round = 0; proposed < MAX_ENTRIES_PER_CASE; round++) {
    cluster.propose(leader, batch);
    proposed += batchSize;
    cluster.drain();
    if (round % 64 === 0) {
      cluster.compact();
      if (performance.now() - t0 >= durationMs) break;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const entries = leader.core.status().commit - startCommit;
  if (entries < proposed) throw new Error(`only ${entries} of ${proposed} proposals committed`);
  return {
    batch: batchSize,
    entries,
    seconds,
    entriesPerSec: entries / seconds,
    coreMicrosPerEntry: (cluster.coreMs * 1000) / entries,
    totalMicrosPerEntry: (cpu.user + cpu.system) / entries,
  };
}

function parseArgs(argv: string[]): { json: boolean; durationMs: number } {
  const json = argv.includes('--json');
  const at = argv.indexOf('--duration-ms');
  const durationMs = at >= 0 ? Number(argv[at + 1]) : 2_000;
  if (!Number.isFinite(durationMs) || durationMs <= 0) throw new Error('--duration-ms needs a positive number');
  return { json, durationMs };
}

function main(): void {
  const { json, durationMs } = parseArgs(process.argv.slice(2));
  runCase(100, Math.min(300, durationMs)); // warm-up (JIT)
  const results = [1, 100].map((b) => runCase(b, durationMs));
  console.log(`raft core, 3 nodes, instant network and persistence, ${ENTRY_BYTES} B entries, ${durationMs} ms per case`);
  console.log('batch | committed entries | entries/s  | core us/entry | total CPU us/entry');
  console.log('------|-------------------|------------|---------------|-------------------');
  for (const r of results) {
    console.log(
      `${String(r.batch).padStart(5)} | ${String(r.entries).padStart(17)} | ${Math.round(r.entriesPerSec).toString().padStart(10)} | ` +
        `${r.coreMicrosPerEntry.toFixed(2).padStart(13)} | ${r.totalMicrosPerEntry.toFixed(2).padStart(18)}`,
    );
  }
  const b100 = results.find((r) => r.batch === 100)!;
  const met = b100.entriesPerSec >= TARGET_ENTRIES_PER_SEC;
  console.log(`target >= ${TARGET_ENTRIES_PER_SEC} entries/s with batches of 100: ${met ? 'met' : 'MISSED'}`);
  if (json) {
    console.log(JSON.stringify({ bench: 'raft', entryBytes: ENTRY_BYTES, durationMs, target: TARGET_ENTRIES_PER_SEC, met, results }));
  }
}

main();
