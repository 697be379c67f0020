/**
 * The table `replog status` prints: one row per member, with rates computed from the previous
 * sample (entries/s from the commit index, records/s from the leader's appended records).
 */
import type { ClusterStatusView, NodeStatusView } from '../client/admin-client.js';

export interface StatusSample {
  view: ClusterStatusView;
  atMs: number;
}

const columns = ['NAME', 'ID', 'ADDRESS', 'ROLE', 'VOTER', 'TERM', 'COMMIT', 'LAST', 'MATCH', 'LAG', 'REACHABLE', 'ENTRIES/S', 'LOWEST', 'HIGHEST'] as const;

/** Entries per second between two samples of a counter ('-' without a previous sample). */
function rate(now: number, before: number | undefined, seconds: number): string {
  if (before === undefined || seconds <= 0) return '-';
  return String(Math.max(0, Math.round((now - before) / seconds)));
}

function row(n: NodeStatusView, leaderId: string, prev: NodeStatusView | undefined, seconds: number): string[] {
  const known = n.selfReported || n.id === leaderId || n.reachable;
  const num = (v: number): string => (known ? String(v) : '?');
  return [
    n.name,
    n.id.slice(n.name.length + 1, n.name.length + 9) || '-',
    n.rpcAddr || '?',
    n.role,
    n.voter ? 'yes' : 'no',
    num(n.term),
    num(n.commitIndex),
    num(n.lastIndex),
    String(n.matchIndex),
    String(n.lagEntries),
    n.reachable ? 'yes' : 'no',
    known ? rate(n.commitIndex, prev?.commitIndex, seconds) : '-',
    n.selfReported ? String(n.lowestOffset) : '?',
    n.selfReported ? String(n.highestOffset) : '?',
  ];
}

/** The whole frame: a header line and the aligned table. */
export function renderStatus(sample: StatusSample, prev: StatusSample | undefined): string {
  const { view } = sample;
  const seconds = prev ? (sample.atMs - prev.atMs) / 1000 : 0;
  const before = new Map(prev?.view.nodes.map((n) => [n.id, n]) ?? []);
  const rows = view.nodes.map((n) => row(n, view.leaderId, before.get(n.id), seconds));
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const leader = view.nodes.find((n) => n.id === view.leaderId);
  const answering = view.nodes.find((n) => n.id === view.answeredBy);
  const prevAnswering = prev?.view.answeredBy === view.answeredBy ? prev.view.nodes.find((n) => n.id === view.answeredBy) : undefined;
  const header = [
    `leader ${leader ? `${leader.name} (${leader.rpcAddr})` : 'none known'}`,
    `term ${view.term}`,
    `view of ${answering?.name ?? view.answeredBy}`,
    `records/s ${rate(answering?.appendedRecords ?? 0, prevAnswering?.appendedRecords, seconds)}`,
    new Date(sample.atMs).toISOString(),
  ].join('   ');
  return `${header}\n\n${line(columns)}\n${rows.map(line).join('\n')}\n`;
}
