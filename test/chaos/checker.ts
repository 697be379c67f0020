/**
 * The history checker: given every event of a run and the final log of every node (read after
 * the faults healed and every node caught up), decides whether replog kept its promise.
 *
 * Rules (each violation names its rule):
 * - lost:       an acknowledged produce is not at its acknowledged offset, with its value, on every node.
 * - divergent:  two nodes hold different values at one offset (or a consumer read a value at an
 *               offset that the final logs hold with another value).
 * - not-dense:  a node's offsets are not one contiguous range starting at the initial offset;
 *               or a node's log is shorter than the longest (it did not catch up).
 * - double-ack: two acknowledgements name one offset, or one value is at two offsets.
 * - phantom:    a value nobody produced is in a log or was read by a consumer.
 * - failed-appeared: a produce reported as provably not appended is in the log.
 * - consumer:   a consumer saw offsets out of order or with a gap.
 */
import type { HistoryEvent } from './history.js';

export interface NodeLog {
  node: string;
  /** Every record the node serves, in offset order. */
  records: readonly { offset: number; value: string }[];
}

export interface CheckSummary {
  operations: number;
  acknowledged: number;
  failed: number;
  indeterminate: number;
  /** Acknowledged produces missing or changed on some node. */
  lost: number;
  /** Offsets with two different values (across nodes or consumer reads). */
  divergent: number;
  consumerReads: number;
  leaderChanges: number;
  /** Longest time without any acknowledged produce, from the first invoke to the last ack. */
  longestUnavailableMs: number;
  finalLength: number;
}

export interface CheckResult {
  ok: boolean;
  summary: CheckSummary;
  /** Human-readable violations, at most `violationsMax`, each prefixed with its rule. */
  violations: string[];
  /** Violations per rule (all of them, not only the listed ones). */
  counts: Record<string, number>;
}

const violationsMax = 50;

class Violations {
  readonly list: string[] = [];
  readonly counts: Record<string, number> = {};

  add(rule: string, text: string): void {
    this.counts[rule] = (this.counts[rule] ?? 0) + 1;
    if (this.list.length < violationsMax) this.list.push(`${rule}: ${text}`);
  }

  count(rule: string): number {
    return this.counts[rule] ?? 0;
  }
}

export function checkHistory(events: readonly HistoryEvent[], logs: readonly NodeLog[], initialOffset = 0): CheckResult {
  const v = new Violations();
  const produced = new Set<string>();
  const failed = new Set<string>();
  const acks = new Map<number, { value: string; proc: string }>();
  let acknowledged = 0;
  let indeterminate = 0;
  for (const e of events) {
    if (e.t === 'invoke') produced.add(e.value);
    else if (e.t === 'fail') failed.add(e.value);
    else if (e.t === 'info') indeterminate++;
    else if (e.t === 'ok') {
      acknowledged++;
      const prev = acks.get(e.offset);
      if (prev) v.add('double-ack', `offset ${e.offset} acknowledged to ${prev.proc} (${prev.value}) and to ${e.proc} (${e.value})`);
      else acks.set(e.offset, { value: e.value, proc: e.proc });
    }
  }
  const merged = checkLogs(logs, initialOffset, produced, failed, v);
  let lost = 0;
  for (const [offset, ack] of acks) {
    const missing = logs.filter((l) => valueAt(l, offset, initialOffset) !== ack.value);
    if (missing.length === 0) continue;
    lost++;
    const found = missing.map((l) => `${l.node}: ${valueAt(l, offset, initialOffset) ?? 'nothing'}`).join(', ');
    v.add('lost', `${ack.value} acknowledged to ${ack.proc} at offset ${offset}; found ${found}`);
  }
  checkConsumers(events, merged, produced, v);
  const summary: CheckSummary = {
    operations: produced.size,
    acknowledged,
    failed: failed.size,
    indeterminate,
    lost,
    divergent: v.count('divergent'),
    consumerReads: events.filter((e) => e.t === 'read').length,
    leaderChanges: leaderChanges(events),
    longestUnavailableMs: longestUnavailable(events),
    finalLength: merged.size,
  };
  return { ok: v.list.length === 0, summary, violations: v.list, counts: v.counts };
}

function valueAt(log: NodeLog, offset: number, initialOffset: number): string | undefined {
  const r = log.records[offset - initialOffset];
  return r?.offset === offset ? r.value : undefined;
}

/** Per-node density, cross-node agreement, phantoms, duplicates; returns offset -> value. */
function checkLogs(logs: readonly NodeLog[], initialOffset: number, produced: Set<string>, failed: Set<string>, v: Violations): Map<number, string> {
  const merged = new Map<number, string>();
  const holders = new Map<number, string>();
  const longest = Math.max(0, ...logs.map((l) => l.records.length));
  for (const log of logs) {
    if (log.records.length < longest) v.add('not-dense', `${log.node} holds ${log.records.length} records, another node ${longest}`);
    log.records.forEach((r, i) => {
      if (r.offset !== initialOffset + i) {
        v.add('not-dense', `${log.node}: record #${i} has offset ${r.offset}, expected ${initialOffset + i}`);
        return;
      }
      const prev = merged.get(r.offset);
      if (prev === undefined) {
        merged.set(r.offset, r.value);
        holders.set(r.offset, log.node);
      } else if (prev !== r.value) {
        v.add('divergent', `offset ${r.offset}: ${holders.get(r.offset)} holds ${prev}, ${log.node} holds ${r.value}`);
      }
    });
  }
  const seen = new Map<string, number>();
  for (const [offset, value] of merged) {
    if (!produced.has(value)) v.add('phantom', `offset ${offset} holds ${JSON.stringify(value)}, which nobody produced`);
    if (failed.has(value)) v.add('failed-appeared', `${value} was reported as not appended but is at offset ${offset}`);
    const other = seen.get(value);
    if (other !== undefined) v.add('double-ack', `${value} is at offsets ${other} and ${offset}`);
    else seen.set(value, offset);
  }
  return merged;
}

/** Order and gaps per consumer; values must be produced and agree with the final logs. */
function checkConsumers(events: readonly HistoryEvent[], merged: Map<number, string>, produced: Set<string>, v: Violations): void {
  const next = new Map<string, number>();
  for (const e of events) {
    if (e.t === 'resume') {
      const expected = next.get(e.proc);
      if (expected !== undefined && e.offset !== expected) v.add('consumer', `${e.proc} resumed at ${e.offset} after reading up to ${expected - 1}`);
      next.set(e.proc, e.offset);
      continue;
    }
    if (e.t !== 'read') continue;
    const expected = next.get(e.proc);
    if (expected !== undefined && e.offset !== expected) v.add('consumer', `${e.proc} read offset ${e.offset} after ${expected - 1}`);
    next.set(e.proc, e.offset + 1);
    if (!produced.has(e.value)) v.add('phantom', `${e.proc} read ${JSON.stringify(e.value)} at offset ${e.offset}, which nobody produced`);
    const final = merged.get(e.offset);
    if (final !== e.value) v.add('divergent', `${e.proc} read ${e.value} at offset ${e.offset}; the final logs hold ${final ?? 'nothing'} there`);
  }
}

function leaderChanges(events: readonly HistoryEvent[]): number {
  let last: string | undefined;
  let changes = 0;
  for (const e of events) {
    if (e.t !== 'leader') continue;
    if (last !== undefined && e.node !== last) changes++;
    last = e.node;
  }
  return changes;
}

function longestUnavailable(events: readonly HistoryEvent[]): number {
  const first = events.reduce((min, e) => (e.t === 'invoke' ? Math.min(min, e.time) : min), Infinity);
  const oks = events
    .filter((e) => e.t === 'ok')
    .map((e) => e.time)
    .sort((a, b) => a - b);
  if (first === Infinity) return 0;
  let prev = first;
  let longest = 0;
  for (const t of oks) {
    longest = Math.max(longest, t - prev);
    prev = Math.max(prev, t);
  }
  return longest;
}

/** The summary as a small Markdown table (docs/reliability.md and the test's output). */
export function formatSummary(s: CheckSummary): string {
  const rows: [string, string | number][] = [
    ['operations (produces)', s.operations],
    ['acknowledged', s.acknowledged],
    ['failed (not appended)', s.failed],
    ['indeterminate', s.indeterminate],
    ['lost (must be 0)', s.lost],
    ['divergent (must be 0)', s.divergent],
    ['consumer reads', s.consumerReads],
    ['leader changes', s.leaderChanges],
    ['longest unavailability', `${(s.longestUnavailableMs / 1000).toFixed(1)} s`],
    ['final log length', s.finalLength],
  ];
  return ['| | |', '|---|---|', ...rows.map(([k, val]) => `| ${k} | ${val} |`)].join('\n');
}
