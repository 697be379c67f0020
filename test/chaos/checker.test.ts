/**
 * The checker itself, on hand-made histories: a clean one passes, and each rule fails on a
 * history that breaks it (a checker that cannot fail proves nothing).
 */
import { describe, expect, it } from 'vitest';
import { checkHistory, formatSummary, type NodeLog } from './checker.js';
import type { HistoryEvent } from './history.js';

const nodes = ['n1', 'n2', 'n3'];

function produce(proc: string, value: string, time: number, outcome: { offset: number } | 'fail' | 'info'): HistoryEvent[] {
  const invoke: HistoryEvent = { t: 'invoke', proc, value, time };
  if (outcome === 'fail') return [invoke, { t: 'fail', proc, value, error: 'no connection', time: time + 1 }];
  if (outcome === 'info') return [invoke, { t: 'info', proc, value, error: 'outcome unknown', time: time + 1 }];
  return [invoke, { t: 'ok', proc, value, offset: outcome.offset, time: time + 1 }];
}

function logsOf(values: string[], initialOffset = 0): NodeLog[] {
  return nodes.map((node) => ({ node, records: values.map((value, i) => ({ offset: initialOffset + i, value })) }));
}

/** a (acked at 0), b (acked at 1), c (unknown, appended at 2), d (failed), read by a consumer. */
function cleanRun(): { events: HistoryEvent[]; logs: NodeLog[] } {
  const events: HistoryEvent[] = [
    { t: 'leader', node: 'n1', time: 0 },
    ...produce('p1', 'a', 10, { offset: 0 }),
    ...produce('p2', 'b', 20, { offset: 1 }),
    ...produce('p1', 'c', 30, 'info'),
    ...produce('p2', 'd', 40, 'fail'),
    { t: 'leader', node: 'n2', time: 45 },
    { t: 'read', proc: 'c1', offset: 0, value: 'a', time: 50 },
    { t: 'resume', proc: 'c1', offset: 1, error: 'node down', time: 51 },
    { t: 'read', proc: 'c1', offset: 1, value: 'b', time: 52 },
    { t: 'read', proc: 'c1', offset: 2, value: 'c', time: 53 },
    ...produce('p1', 'e', 1000, { offset: 3 }),
  ];
  return { events, logs: logsOf(['a', 'b', 'c', 'e']) };
}

describe('history checker', () => {
  it('accepts a clean history and summarises it', () => {
    const { events, logs } = cleanRun();
    const res = checkHistory(events, logs);
    expect(res.violations).toEqual([]);
    expect(res.ok).toBe(true);
    expect(res.summary).toEqual({
      operations: 5,
      acknowledged: 3,
      failed: 1,
      indeterminate: 1,
      lost: 0,
      divergent: 0,
      consumerReads: 3,
      leaderChanges: 1,
      longestUnavailableMs: 1001 - 21,
      finalLength: 4,
    });
    expect(formatSummary(res.summary)).toContain('| lost (must be 0) | 0 |');
  });

  it('honours the initial offset', () => {
    const events = [...produce('p1', 'a', 1, { offset: 100 }), ...produce('p1', 'b', 2, { offset: 101 })];
    expect(checkHistory(events, logsOf(['a', 'b'], 100), 100).ok).toBe(true);
    expect(checkHistory(events, logsOf(['a', 'b'], 0), 100).counts['not-dense']).toBeGreaterThan(0);
  });

  const cases: { rule: string; what: string; mutate: (r: { events: HistoryEvent[]; logs: NodeLog[] }) => void }[] = [
    {
      rule: 'lost',
      what: 'an acknowledged record missing from every node',
      mutate: (r) => r.events.push(...produce('p3', 'z', 2000, { offset: 4 })),
    },
    {
      rule: 'lost',
      what: 'an acknowledged record missing on one node only (shorter log)',
      mutate: (r) => {
        const n3 = r.logs[2]!;
        r.logs[2] = { node: n3.node, records: n3.records.slice(0, 3) };
      },
    },
    {
      rule: 'lost',
      what: 'an acknowledged record at another offset than acknowledged',
      mutate: (r) => {
        const ok = r.events.find((e) => e.t === 'ok' && e.value === 'b');
        if (ok?.t === 'ok') ok.offset = 2;
      },
    },
    {
      rule: 'divergent',
      what: 'two nodes holding different values at one offset',
      mutate: (r) => {
        r.logs[1] = { node: 'n2', records: r.logs[1]!.records.map((x) => (x.offset === 2 ? { offset: 2, value: 'd' } : x)) };
      },
    },
    {
      rule: 'divergent',
      what: 'a consumer that read a value the final logs do not hold there',
      mutate: (r) => r.events.push({ t: 'read', proc: 'c1', offset: 3, value: 'c', time: 60 }),
    },
    {
      rule: 'not-dense',
      what: 'a hole in a node log',
      mutate: (r) => {
        r.logs[0] = { node: 'n1', records: r.logs[0]!.records.map((x) => (x.offset === 3 ? { offset: 4, value: 'e' } : x)) };
      },
    },
    {
      rule: 'not-dense',
      what: 'a node that did not catch up',
      mutate: (r) => {
        const extra = { offset: 4, value: 'c' };
        r.logs = r.logs.map((l) => (l.node === 'n3' ? l : { node: l.node, records: [...l.records, extra] }));
      },
    },
    {
      rule: 'phantom',
      what: 'a record nobody produced',
      mutate: (r) => (r.logs = logsOf(['a', 'b', 'c', 'e', 'ghost'])),
    },
    {
      rule: 'phantom',
      what: 'a consumer that read a value nobody produced',
      mutate: (r) => {
        r.logs = logsOf(['a', 'b', 'c', 'e', 'ghost']);
        r.events.push({ t: 'read', proc: 'c1', offset: 3, value: 'e', time: 1100 }, { t: 'read', proc: 'c1', offset: 4, value: 'ghost', time: 1101 });
      },
    },
    {
      rule: 'failed-appeared',
      what: 'a produce reported as not appended that is in the log',
      mutate: (r) => (r.logs = logsOf(['a', 'b', 'c', 'e', 'd'])),
    },
    {
      rule: 'double-ack',
      what: 'two acknowledgements of one offset',
      mutate: (r) => r.events.push(...produce('p3', 'e2', 1500, { offset: 3 })),
    },
    {
      rule: 'double-ack',
      what: 'one value at two offsets',
      mutate: (r) => (r.logs = logsOf(['a', 'b', 'c', 'e', 'c'])),
    },
    {
      rule: 'consumer',
      what: 'a consumer that skipped an offset',
      mutate: (r) => {
        r.events = r.events.filter((e) => !(e.t === 'read' && e.offset === 1));
      },
    },
    {
      rule: 'consumer',
      what: 'a consumer that went backwards',
      mutate: (r) => r.events.push({ t: 'read', proc: 'c1', offset: 1, value: 'b', time: 70 }),
    },
    {
      rule: 'consumer',
      what: 'a consumer that resumed past the next offset',
      mutate: (r) => r.events.push({ t: 'resume', proc: 'c1', offset: 5, error: 'x', time: 70 }),
    },
  ];

  it.each(cases)('fails on $what ($rule)', ({ rule, mutate }) => {
    const run = cleanRun();
    mutate(run);
    const res = checkHistory(run.events, run.logs);
    expect(res.ok).toBe(false);
    expect(res.counts[rule], res.violations.join('\n')).toBeGreaterThan(0);
    expect(res.violations.some((x) => x.startsWith(`${rule}:`))).toBe(true);
    if (rule === 'lost') expect(res.summary.lost).toBeGreaterThan(0);
    if (rule === 'divergent') expect(res.summary.divergent).toBeGreaterThan(0);
  });
});
