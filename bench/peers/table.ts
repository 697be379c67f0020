/** The peer benchmark's table (text and markdown) with a `replog / peer` column after each figure. */
import { figureNames, type FigureName, type Spread, type SystemRow, type TargetCheck } from './figures.js';

const heads: Record<FigureName, string> = {
  oneInflightRps: '1 in flight rec/s',
  oneInflightP50Ms: 'p50 ms',
  highInflightRps: '256 in flight rec/s',
  highInflightP99Ms: 'p99 ms',
  readBackRps: 'read-back rec/s',
};

function cell(s: Spread, f: FigureName): string {
  const v = (x: number): string => (f.endsWith('Ms') ? x.toFixed(2) : String(Math.round(x)));
  return s.min === s.max ? v(s.median) : `${v(s.median)} [${v(s.min)}-${v(s.max)}]`;
}

function cells(rows: readonly SystemRow[], highInflight: number): { head: string[]; body: string[][] } {
  const head = ['system', ...figureNames.flatMap((f) => [heads[f].replace('256', String(highInflight)), 'replog/peer'])];
  const body = rows.map((r) => [
    r.system,
    ...figureNames.flatMap((f) => {
      const ratio = r.ratios[f];
      return [cell(r.figures[f], f), ratio === undefined ? '' : `${ratio.toFixed(2)}x`];
    }),
  ]);
  return { head, body };
}

export function textTable(rows: readonly SystemRow[], highInflight: number): string {
  const { head, body } = cells(rows, highInflight);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (c: readonly string[]): string => c.map((x, i) => (i === 0 ? x.padEnd(widths[i] ?? 0) : x.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n');
}

export function markdownTable(rows: readonly SystemRow[], highInflight: number): string {
  const { head, body } = cells(rows, highInflight);
  const line = (c: readonly string[]): string => `| ${c.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...body.map(line)].join('\n');
}

export function targetLines(checks: readonly TargetCheck[]): string[] {
  return checks.map((c) => `${c.met ? 'met    ' : 'NOT met'}  ${c.target}: ${c.value.toFixed(2)} (${c.required})`);
}
