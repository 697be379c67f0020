/**
 * The result of `replog bench`: what was measured (target, workload), the produce and consume
 * phases, as one JSON object (`--json`) or a short text report.
 */
import type { LatencySummary } from './latency-histogram.js';
import type { PhaseResult } from './workload.js';

export interface BenchWorkload {
  records: number;
  sizeBytes: number;
  inflight: number;
  mode: 'unary' | 'stream';
  consumeFrom: 'follower' | 'leader';
  maxBatchRecords: number;
  requests: number;
}

export interface PhaseReport {
  records: number;
  bytes: number;
  elapsedMs: number;
  recordsPerSec: number;
  mbPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
}

export interface BenchReport {
  target: { kind: 'local-cluster'; nodes: number; sync: 'always' } | { kind: 'addr'; addrs: string[] };
  workload: BenchWorkload;
  produce: PhaseReport;
  consume: PhaseReport;
  /** Produce requests sent (records / requests = mean records per request). */
  produceRequests: number;
  machine: { node: string; cores: number; platform: string };
  startedAt: string;
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

export function latencyMs(l: LatencySummary): PhaseReport['latencyMs'] {
  return { p50: round(l.p50Ms, 3), p90: round(l.p90Ms, 3), p99: round(l.p99Ms, 3), p999: round(l.p999Ms, 3), max: round(l.maxMs, 3), mean: round(l.meanMs, 3) };
}

export function phaseReport(p: PhaseResult): PhaseReport {
  return {
    records: p.records,
    bytes: p.bytes,
    elapsedMs: round(p.elapsedMs, 1),
    recordsPerSec: Math.round(p.recordsPerSec),
    mbPerSec: round(p.mbPerSec, 2),
    latencyMs: latencyMs(p.latency),
  };
}

function describeTarget(t: BenchReport['target']): string {
  return t.kind === 'local-cluster' ? `local cluster of ${t.nodes} node(s), sync ${t.sync}` : t.addrs.join(',');
}

/** The text report: one header line, then one line per phase. */
export function formatReport(r: BenchReport): string {
  const w = r.workload;
  const head = `replog bench: ${w.records} records of ${w.sizeBytes} B, ${w.inflight} in flight, ${w.mode} produce (up to ${w.maxBatchRecords} records x ${w.requests} requests in flight), consume from ${w.consumeFrom}; ${describeTarget(r.target)}`;
  const cols = ['phase', 'records/s', 'MB/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p999 ms', 'max ms'];
  const row = (name: string, p: PhaseReport): string[] => [
    name,
    String(p.recordsPerSec),
    p.mbPerSec.toFixed(2),
    ...[p.latencyMs.p50, p.latencyMs.p90, p.latencyMs.p99, p.latencyMs.p999, p.latencyMs.max].map((v) => v.toFixed(3)),
  ];
  const table = formatTable(cols, [row('produce', r.produce), row('consume', r.consume)]);
  const batch = r.produceRequests > 0 ? (r.produce.records / r.produceRequests).toFixed(1) : '0';
  return `${head}\n${table}\nmean records per produce request: ${batch}; consume latency = wait per record in the reader (batched reads: most wait ~0)\n`;
}

/** Left-aligned first column, right-aligned others, two spaces apart. */
export function formatTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}
