/** The figures of one system over the repetitions (min / median / max) and the replog / peer ratios. */

export const figureNames = ['oneInflightRps', 'oneInflightP50Ms', 'highInflightRps', 'highInflightP99Ms', 'readBackRps'] as const;
export type FigureName = (typeof figureNames)[number];

/** What one repetition measured. */
export type RepFigures = Record<FigureName, number>;

export interface Spread {
  min: number;
  median: number;
  max: number;
}

export interface SystemRow {
  system: string;
  /** The replog row a peer is compared with. */
  comparedWith: string | undefined;
  reps: RepFigures[];
  figures: Record<FigureName, Spread>;
  /** replog / peer on the medians (peers only). */
  ratios: Partial<Record<FigureName, number>>;
  /** This disk's write+fdatasync rate measured just before this system started (load drifts). */
  fsyncPerSecBefore: number;
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length === 0 ? NaN : sorted.length % 2 === 1 ? (sorted[Math.floor(mid)] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
  return { min: sorted[0] ?? NaN, median, max: sorted.at(-1) ?? NaN };
}

export function summarize(system: string, comparedWith: string | undefined, reps: RepFigures[], fsyncPerSecBefore: number): SystemRow {
  const figures = Object.fromEntries(figureNames.map((f) => [f, spread(reps.map((r) => r[f]))])) as Record<FigureName, Spread>;
  return { system, comparedWith, reps, figures, ratios: {}, fsyncPerSecBefore };
}

/** Fills each peer row's ratios from the replog row it is compared with. */
export function addRatios(rows: SystemRow[]): void {
  for (const row of rows) {
    const base = rows.find((r) => r.system === row.comparedWith);
    if (base === undefined) continue;
    for (const f of figureNames) row.ratios[f] = base.figures[f].median / row.figures[f].median;
  }
}

export interface TargetCheck {
  target: string;
  value: number;
  required: string;
  met: boolean;
}

/**
 * The targets, evaluated on the medians (skipped when a row was not measured). The
 * 1-node, 1-in-flight target is relative to the disk rate measured just before that system ran.
 */
export function checkTargets(rows: readonly SystemRow[]): TargetCheck[] {
  const row = (name: string): SystemRow | undefined => rows.find((r) => r.system === name);
  const out: TargetCheck[] = [];
  const ratio = (target: string, a: SystemRow | undefined, b: SystemRow | undefined, f: FigureName, min: number): void => {
    if (a === undefined || b === undefined) return;
    const value = a.figures[f].median / b.figures[f].median;
    out.push({ target, value, required: `>= ${min}`, met: value >= min });
  };
  const r1 = row('replog 1 node');
  const r3 = row('replog 3 nodes');
  const n1 = row('NATS JetStream R1');
  const n3 = row('NATS JetStream R3');
  ratio('replog 3 / NATS R3, 1 in flight', r3, n3, 'oneInflightRps', 1);
  ratio('replog 3 / NATS R3, 256 in flight', r3, n3, 'highInflightRps', 2);
  ratio('replog 3 / NATS R3, read-back', r3, n3, 'readBackRps', 1);
  ratio('replog 1 / NATS R1, 256 in flight', r1, n1, 'highInflightRps', 1);
  ratio('replog 1 / NATS R1, read-back', r1, n1, 'readBackRps', 1);
  if (r1 !== undefined && r1.fsyncPerSecBefore > 0) {
    const value = r1.figures.oneInflightRps.median / r1.fsyncPerSecBefore;
    out.push({ target: 'replog 1, 1 in flight / disk write+fdatasync rate', value, required: '>= 0.8', met: value >= 0.8 });
  }
  if (r3 !== undefined && n3 !== undefined) {
    const value = r3.figures.highInflightP99Ms.median / n3.figures.highInflightP99Ms.median;
    out.push({ target: 'replog 3 / NATS R3, p99 at 256 in flight', value, required: '<= 1', met: value <= 1 });
  }
  return out;
}
