/**
 * The producer-dedup state: requests classified right against a reference model, the state
 * rebuilt from the log equal to the state built entry by entry, expiry deterministic.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntryType } from '../../src/raft/core/types.js';
import { decodeProducerHeader, producerEntries, userValue } from '../../src/raft/dedup-header.js';
import { rebuildDedup, type DedupScanSource } from '../../src/raft/dedup-rebuild.js';
import { ProducerTable, classifyRequest, type DedupLimits } from '../../src/raft/dedup-state.js';
import { DedupTracker } from '../../src/raft/dedup-tracker.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000);
const check = (prop: fc.IProperty<unknown>, numRuns = 300): void => {
  try {
    fc.assert(prop, { seed, numRuns });
  } catch (err) {
    console.error(`dedup property failed; replay with FC_SEED=${seed}`);
    throw err;
  }
};

const limits: DedupLimits = { expiryEntries: 25, windowRuns: 3 };

/** A log of entries as the Raft log stores them: producer requests between control/plain entries. */
interface LogEntry {
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** Steps: a request of producer p (0..3) with n records (after a hole of `skip` sequences), or a plain/control entry. */
const step = fc.oneof(
  fc.record({ kind: fc.constant('request' as const), producer: fc.integer({ min: 0, max: 3 }), n: fc.integer({ min: 1, max: 4 }), skip: fc.integer({ min: 0, max: 1 }) }),
  fc.record({ kind: fc.constant('other' as const), type: fc.constantFrom(EntryType.Data, EntryType.Noop) }),
);

/** Builds a log a leader could commit: each producer's sequences increase (holes are rare but possible). */
function buildLog(steps: fc.Arbitrary<unknown>[] | readonly ReturnType<typeof step.generate>['value'][]): LogEntry[] {
  const next = new Map<number, number>();
  const log: LogEntry[] = [];
  for (const s of steps as { kind: string; producer?: number; n?: number; skip?: number; type?: EntryType }[]) {
    if (s.kind === 'other') {
      log.push({ index: log.length + 1, type: s.type ?? EntryType.Data, data: Buffer.from('x') });
      continue;
    }
    const p = s.producer ?? 0;
    const seq = (next.get(p) ?? 0) + (s.skip ?? 0);
    const values = Array.from({ length: s.n ?? 1 }, (_, i) => Buffer.from(`p${p}-${seq + i}`));
    for (const e of producerEntries({ id: `producer-${p}`, sequence: seq }, values)) log.push({ index: log.length + 1, ...e });
    next.set(p, Math.max(next.get(p) ?? 0, seq + values.length));
  }
  return log;
}

/** User offsets as the translator gives them: dense over user entries, from 100. */
function offsets(log: LogEntry[]): (index: number) => number {
  const out: number[] = [];
  let next = 100;
  for (const e of log) out.push(e.type === EntryType.Noop ? -1 : next++);
  return (index) => out[index - 1] ?? -1;
}

function source(log: LogEntry[], firstIndex = 1): DedupScanSource {
  const at = (i: number): LogEntry => {
    const e = log[i - 1];
    if (!e) throw new Error(`no entry ${i}`);
    return e;
  };
  return { firstIndex, lastIndex: log.length, typeAt: (i) => at(i).type, dataAt: (i) => at(i).data, offsetOf: offsets(log) };
}

/** The state after applying every entry one Ready at a time (as a node does). */
function incremental(log: LogEntry[], chunk: number): DedupTracker {
  const tracker = new DedupTracker(new ProducerTable(limits));
  const offsetOf = offsets(log);
  for (let i = 0; i < log.length; i += chunk) {
    tracker.appended(log.slice(i, i + chunk), offsetOf);
    tracker.applyThrough(Math.min(log.length, i + chunk));
  }
  return tracker;
}

describe('producer header', () => {
  it('round-trips the producer and sequence, and consumers see only the value', () => {
    const [first, next] = producerEntries({ id: 'p-ü', sequence: 2 ** 40 }, [Buffer.from('one'), Buffer.from('two')]);
    expect(first?.type).toBe(EntryType.ProducerData);
    expect(next?.type).toBe(EntryType.ProducerNext);
    const h = decodeProducerHeader(first!.data);
    expect([h.id, h.sequence]).toEqual(['p-ü', 2 ** 40]);
    expect(userValue(EntryType.ProducerData, Buffer.from(first!.data)).toString()).toBe('one');
    expect(userValue(EntryType.ProducerNext, Buffer.from(next!.data)).toString()).toBe('two');
  });
});

describe('classifyRequest', () => {
  it('matches the definition for every last/sequence/count', () => {
    check(
      fc.property(fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 5 }), (last, s, n) => {
        const kind = classifyRequest(last, s, n);
        if (last === undefined) return kind === (s === 0 ? 'new' : 'unknown-producer');
        if (s === last + 1) return kind === 'new';
        if (s > last + 1) return kind === 'gap';
        return kind === (s + n - 1 <= last ? 'duplicate' : 'partial');
      }),
    );
  });
});

describe('ProducerTable', () => {
  it('finds every remembered sequence at its offset; rebuild from the log equals the incremental state', () => {
    check(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 7 }), (steps, chunk) => {
        const log = buildLog(steps);
        const inc = incremental(log, chunk);
        const rebuilt = rebuildDedup(source(log), new ProducerTable(limits), log.length);
        expect(rebuilt.table.snapshot()).toEqual(inc.table.snapshot());
        // A rebuild starting from a snapshot taken midway gives the same state too.
        const mid = Math.floor(log.length / 2);
        const half = rebuildDedup(source(log.slice(0, mid)), new ProducerTable(limits), mid);
        const resumed = rebuildDedup(source(log), ProducerTable.fromSnapshot(half.table.snapshot(), limits), log.length);
        expect(resumed.table.snapshot()).toEqual(inc.table.snapshot());
        // Every producer entry inside the window is found at its own offset.
        for (const e of log) {
          if (e.type !== EntryType.ProducerData || e.index <= log.length - limits.expiryEntries) continue;
          const h = decodeProducerHeader(e.data);
          const found = inc.table.lookup(h.id, h.sequence);
          if (found.state === 'found') expect(found.offset).toBe(offsets(log)(e.index));
          else expect(found.state).toBe('too-old'); // evicted by the window of runs
        }
      }),
    );
  });

  it('expires a producer not seen for expiryEntries entries, the same way on every replay', () => {
    const table = new ProducerTable(limits);
    table.apply({ producerId: 'a', index: 1, sequence: 0, offset: 0, count: 2 });
    table.advanceTo(2 + limits.expiryEntries - 1);
    expect(table.lastSequence('a')).toBe(1);
    table.advanceTo(2 + limits.expiryEntries);
    expect(table.lastSequence('a')).toBeUndefined();
    expect(classifyRequest(table.lastSequence('a'), 2, 1)).toBe('unknown-producer');
    expect(table.snapshot()).toEqual({ index: 2 + limits.expiryEntries, last: null, producers: [] });
  });

  it('holds uncommitted runs as pending and forgets them when the log is truncated', () => {
    const tracker = new DedupTracker(new ProducerTable(limits));
    const entries = producerEntries({ id: 'a', sequence: 0 }, [Buffer.from('1'), Buffer.from('2'), Buffer.from('3')]).map((e, i) => ({ index: i + 1, ...e }));
    tracker.appended(entries, (i) => i);
    expect(tracker.lookup('a', 1)).toEqual({ state: 'pending', index: 2, offset: 2 });
    tracker.applyThrough(1);
    expect(tracker.lookup('a', 0)).toEqual({ state: 'found', index: 1, offset: 1 });
    tracker.truncateSuffix(3);
    expect(tracker.lastSequence('a')).toBe(1);
    tracker.applyThrough(2);
    expect(tracker.table.lastSequence('a')).toBe(1);
    expect(tracker.pendingRuns()).toEqual([]);
  });
});
