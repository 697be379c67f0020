/**
 * A small SVG writer for `replog bench --plot`: two panels, throughput over time and the latency
 * distribution (latency against percentile on a "nines" axis, log-scaled milliseconds). Plain
 * SVG 1.1 text: no fonts to embed, no scripts, no network.
 */
import type { PercentilePoint } from './latency-histogram.js';
import type { TimelineSeries } from './throughput-timeline.js';

export interface PlotPhase {
  name: string;
  color: string;
  timeline: TimelineSeries;
  /** Seconds from the start of the run to the start of this phase. */
  startSec: number;
  curve: PercentilePoint[];
}

type Point = readonly [number, number];
interface Series {
  name: string;
  color: string;
  points: Point[];
}
interface Axis {
  label: string;
  min: number;
  max: number;
  ticks: { value: number; label: string }[];
}
interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const width = 1000;
const height = 420;

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c);
}

/** The whole document. */
export function renderBenchSvg(title: string, phases: readonly PlotPhase[]): string {
  const left: Box = { x: 70, y: 60, w: 380, h: 300 };
  const right: Box = { x: 580, y: 60, w: 380, h: 300 };
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
    throughputPanel(left, phases),
    latencyPanel(right, phases),
    '</svg>',
    '',
  ].join('\n');
}

function throughputPanel(box: Box, phases: readonly PlotPhase[]): string {
  const series: Series[] = phases.map((p) => ({
    name: p.name,
    color: p.color,
    points: p.timeline.counts.map((n, i): Point => [p.startSec + ((i + 0.5) * p.timeline.bucketMs) / 1000, n / (p.timeline.bucketMs / 1000)]),
  }));
  const all = series.flatMap((s) => s.points);
  const xMax = niceCeil(Math.max(1e-3, ...all.map((p) => p[0])));
  const yMax = niceCeil(Math.max(1, ...all.map((p) => p[1])));
  const x: Axis = { label: 'seconds', min: 0, max: xMax, ticks: linearTicks(xMax) };
  const y: Axis = { label: 'records/s', min: 0, max: yMax, ticks: linearTicks(yMax) };
  return panel(box, 'Throughput over time', x, y, series);
}

function latencyPanel(box: Box, phases: readonly PlotPhase[]): string {
  const nines = (p: number): number => Math.log10(100 / Math.max(1e-9, 100 - p));
  const series: Series[] = phases.map((p) => ({
    name: `${p.name} (max ${formatMs(p.curve.at(-1)?.ms ?? 0)} ms)`,
    color: p.color,
    points: p.curve.filter((c) => c.percentile < 100).map((c): Point => [nines(c.percentile), Math.log10(Math.max(0.001, c.ms))]),
  }));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const yMin = Math.floor(Math.min(0, ...ys));
  const yMax = Math.max(yMin + 1, Math.ceil(Math.max(...ys, yMin + 1)));
  const x: Axis = { label: 'percentile', min: 0, max: 4, ticks: [0, 1, 2, 3, 4].map((v, i) => ({ value: v, label: ['0', '90', '99', '99.9', '99.99'][i] ?? '' })) };
  const yTicks = Array.from({ length: yMax - yMin + 1 }, (_, i) => ({ value: yMin + i, label: formatMs(10 ** (yMin + i)) }));
  const y: Axis = { label: 'latency ms (log)', min: yMin, max: yMax, ticks: yTicks };
  return panel(box, 'Latency distribution', x, y, series);
}

function panel(box: Box, title: string, x: Axis, y: Axis, series: readonly Series[]): string {
  const px = (v: number): number => box.x + ((v - x.min) / (x.max - x.min || 1)) * box.w;
  const py = (v: number): number => box.y + box.h - ((v - y.min) / (y.max - y.min || 1)) * box.h;
  const out: string[] = [`<g>`, `<text x="${box.x + box.w / 2}" y="${box.y - 12}" text-anchor="middle" font-size="13">${escapeXml(title)}</text>`];
  out.push(`<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" fill="none" stroke="#888"/>`);
  for (const t of x.ticks) {
    const X = fmt(px(t.value));
    out.push(`<line x1="${X}" y1="${box.y}" x2="${X}" y2="${box.y + box.h}" stroke="#eee"/>`);
    out.push(`<text x="${X}" y="${box.y + box.h + 16}" text-anchor="middle">${escapeXml(t.label)}</text>`);
  }
  for (const t of y.ticks) {
    const Y = fmt(py(t.value));
    out.push(`<line x1="${box.x}" y1="${Y}" x2="${box.x + box.w}" y2="${Y}" stroke="#eee"/>`);
    out.push(`<text x="${box.x - 6}" y="${Y}" text-anchor="end" dominant-baseline="middle">${escapeXml(t.label)}</text>`);
  }
  out.push(`<text x="${box.x + box.w / 2}" y="${box.y + box.h + 34}" text-anchor="middle">${escapeXml(x.label)}</text>`);
  out.push(`<text transform="translate(${box.x - 52} ${box.y + box.h / 2}) rotate(-90)" text-anchor="middle">${escapeXml(y.label)}</text>`);
  series.forEach((s, i) => {
    if (s.points.length > 0) {
      const d = s.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${fmt(px(p[0]))},${fmt(py(p[1]))}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${escapeXml(s.color)}" stroke-width="1.5"/>`);
    }
    const ly = box.y + 14 + i * 16;
    out.push(`<rect x="${box.x + 8}" y="${ly - 8}" width="10" height="10" fill="${escapeXml(s.color)}"/>`);
    out.push(`<text x="${box.x + 24}" y="${ly}">${escapeXml(s.name)}</text>`);
  });
  out.push('</g>');
  return out.join('\n');
}

/** 1, 2 or 5 times a power of ten, at least `v`. */
export function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function linearTicks(max: number): { value: number; label: string }[] {
  return Array.from({ length: 6 }, (_, i) => {
    const v = (max * i) / 5;
    return { value: v, label: v >= 1000 ? `${Number((v / 1000).toPrecision(3))}k` : String(Number(v.toPrecision(3))) };
  });
}

function formatMs(ms: number): string {
  return ms >= 1 ? String(Number(ms.toPrecision(3))) : String(Number(ms.toPrecision(2)));
}

function fmt(v: number): string {
  return v.toFixed(1);
}
