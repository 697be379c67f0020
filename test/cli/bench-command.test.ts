import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseWorkload } from '../../src/cli/bench-command.js';
import { LatencyHistogram } from '../../src/cli/bench/latency-histogram.js';
import { formatReport, formatTable, type BenchReport } from '../../src/cli/bench/report.js';
import { escapeXml, niceCeil, renderBenchSvg } from '../../src/cli/bench/svg-plot.js';
import { ThroughputTimeline } from '../../src/cli/bench/throughput-timeline.js';
import { runProducePhase } from '../../src/cli/bench/workload.js';
import { TempDirs } from '../helpers/temp-dir.js';
import { addRatios, checkTargets, spread, summarize, type RepFigures } from '../../bench/peers/figures.js';
import { markdownTable, textTable } from '../../bench/peers/table.js';

const temp = new TempDirs();
afterAll(() => temp.cleanup());

/** Well-formed XML for what the writer emits: balanced tags, quoted attributes, only known entities. */
const tagPattern = /<(\/?)([a-zA-Z]+)((?:\s+[a-zA-Z][a-zA-Z0-9-]*="[^"<>]*")*)\s*(\/?)>/g;

function expectWellFormedSvg(svg: string): void {
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  const stack: string[] = [];
  for (const m of svg.matchAll(tagPattern)) {
    const [, close, name, , selfClose] = m;
    if (close === '/') expect(stack.pop()).toBe(name);
    else if (selfClose !== '/') stack.push(name!);
  }
  expect(stack).toEqual([]);
  const tagless = svg.replace(tagPattern, '');
  expect(tagless).not.toMatch(/[<>]/);
  expect(svg.replace(/&(lt|gt|amp|apos|quot);/g, '')).not.toContain('&');
}

const phase = (rps: number): BenchReport['produce'] => ({
  records: 1000,
  bytes: 1_024_000,
  elapsedMs: 1000 / (rps / 1000),
  recordsPerSec: rps,
  mbPerSec: (rps * 1024) / 1e6,
  latencyMs: { p50: 0.5, p90: 0.9, p99: 1.5, p999: 3, max: 4.25, mean: 0.6 },
});

describe('replog bench, pure parts', () => {
  it('formats the report with one row per phase', () => {
    const report: BenchReport = {
      target: { kind: 'local-cluster', nodes: 3, sync: 'always' },
      workload: { records: 1000, sizeBytes: 1024, inflight: 256, mode: 'stream', consumeFrom: 'follower', maxBatchRecords: 1000, requests: 2 },
      produce: phase(12_345),
      consume: phase(54_321),
      produceRequests: 40,
      machine: { node: 'v20', cores: 2, platform: 'linux-x64' },
      startedAt: '2026-01-01T00:00:00.000Z',
    };
    const lines = formatReport(report).trimEnd().split('\n');
    expect(lines[0]).toContain('1000 records of 1024 B, 256 in flight');
    expect(lines[0]).toContain('local cluster of 3 node(s), sync always');
    expect(lines[1]?.split(/\s+/)).toEqual(['phase', 'records/s', 'MB/s', 'p50', 'ms', 'p90', 'ms', 'p99', 'ms', 'p999', 'ms', 'max', 'ms']);
    expect(lines[2]?.split(/\s+/)).toEqual(['produce', '12345', '12.64', '0.500', '0.900', '1.500', '3.000', '4.250']);
    expect(lines[3]?.split(/\s+/).slice(0, 2)).toEqual(['consume', '54321']);
    expect(lines[4]).toContain('mean records per produce request: 25.0');
  });

  it('aligns table columns', () => {
    expect(formatTable(['a', 'bb'], [['long', '1'], ['x', '12345']])).toBe(['a        bb', 'long      1', 'x     12345'].join('\n'));
  });

  it('writes a well-formed SVG with both panels, escaping text', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i / 100);
    const timeline = new ThroughputTimeline(0, 100);
    for (let t = 0; t < 2000; t += 7) timeline.add(t);
    const svg = renderBenchSvg('a <b> & "c"', [
      { name: 'produce', color: '#1f77b4', timeline: timeline.series(), startSec: 0, curve: h.curve() },
      { name: 'consume', color: '#ff7f0e', timeline: timeline.series(), startSec: 2, curve: h.curve() },
    ]);
    expectWellFormedSvg(svg);
    expect(svg).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(svg.match(/<path /g)).toHaveLength(4);
    expect(svg).toContain('Throughput over time');
    expect(svg).toContain('Latency distribution');
    expect(svg).toContain('produce (max 10 ms)');
  });

  it('draws an empty run without NaN', () => {
    const svg = renderBenchSvg('empty', [{ name: 'p', color: 'red', timeline: { bucketMs: 50, counts: [] }, startSec: 0, curve: [] }]);
    expectWellFormedSvg(svg);
    expect(svg).not.toContain('NaN');
  });

  it('escapes XML and rounds axes up to 1, 2 or 5 x 10^n', () => {
    expect(escapeXml(`<&>'"`)).toBe('&lt;&amp;&gt;&apos;&quot;');
    expect([0.7, 1, 1.1, 3, 7, 4200].map(niceCeil)).toEqual([1, 1, 2, 5, 10, 5000]);
  });

  it('summarizes latencies from the HDR histogram', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 10_000; i++) h.record(i / 1000);
    const s = h.summary();
    expect(s.count).toBe(10_000);
    expect(s.p50Ms).toBeCloseTo(5, 1);
    expect(s.p99Ms).toBeCloseTo(9.9, 1);
    expect(s.maxMs).toBeCloseTo(10, 1);
    expect(h.curve().at(-1)?.percentile).toBe(100);
  });

  it('keeps the timeline bounded by merging buckets', () => {
    const t = new ThroughputTimeline(0, 10, 100);
    for (let ms = 0; ms < 10_000; ms++) t.add(ms);
    const s = t.series();
    expect(s.counts.length).toBeLessThanOrEqual(100);
    expect(s.counts.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(s.bucketMs).toBe(160);
  });


  it('counts every record of a closed-loop phase and keeps K in flight', async () => {
    let inflight = 0;
    let peak = 0;
    const r = await runProducePhase({
      records: 100,
      inflight: 8,
      valueBytes: 10,
      deadlineMs: 10_000,
      produce: async () => {
        peak = Math.max(peak, ++inflight);
        await new Promise((res) => setImmediate(res));
        inflight--;
      },
    });
    expect(r.records).toBe(100);
    expect(r.bytes).toBe(1000);
    expect(r.latency.count).toBe(100);
    expect(peak).toBe(8);
  });

  it('rejects bad flags with the option named', () => {
    const ok = { records: '10', size: '1024', inflight: '1', mode: 'stream', consumeFrom: 'leader', batchRecords: '1000', requests: '2' };
    expect(parseWorkload(ok)).toMatchObject({ records: 10, consumeFrom: 'leader', mode: 'stream' });
    expect(() => parseWorkload({ ...ok, mode: 'x' })).toThrow('--mode');
    expect(() => parseWorkload({ ...ok, records: '0' })).toThrow('--records');
    expect(() => parseWorkload({ ...ok, consumeFrom: 'any' })).toThrow('--consume-from');
  });
});

describe('bench-peers table', () => {
  const rep = (rps: number, p50: number, high: number, p99: number, read: number): RepFigures => ({
    oneInflightRps: rps,
    oneInflightP50Ms: p50,
    highInflightRps: high,
    highInflightP99Ms: p99,
    readBackRps: read,
  });

  it('takes min / median / max over repetitions', () => {
    expect(spread([3, 1, 2])).toEqual({ min: 1, median: 2, max: 3 });
    expect(spread([4, 1, 2, 3])).toEqual({ min: 1, median: 2.5, max: 4 });
  });

  it('puts replog / peer ratios on peer rows and checks the targets', () => {
    const rows = [
      summarize('replog 3 nodes', undefined, [rep(1000, 1, 20_000, 40, 50_000), rep(1200, 1, 22_000, 40, 60_000), rep(800, 1, 18_000, 40, 40_000)], 4000),
      summarize('NATS JetStream R3', 'replog 3 nodes', [rep(500, 2, 10_000, 50, 50_000)], 4000),
    ];
    addRatios(rows);
    expect(rows[0]?.ratios).toEqual({});
    expect(rows[1]?.ratios).toEqual({ oneInflightRps: 2, oneInflightP50Ms: 0.5, highInflightRps: 2, highInflightP99Ms: 0.8, readBackRps: 1 });
    const checks = checkTargets(rows);
    expect(checks.map((c) => [c.target, c.met])).toEqual([
      ['replog 3 / NATS R3, 1 in flight', true],
      ['replog 3 / NATS R3, 256 in flight', true],
      ['replog 3 / NATS R3, read-back', true],
      ['replog 3 / NATS R3, p99 at 256 in flight', true],
    ]);
    const text = textTable(rows, 256).split('\n');
    expect(text[0]).toMatch(/^system\s+1 in flight rec\/s\s+replog\/peer/);
    expect(text[1]).toContain('1000 [800-1200]');
    expect(text[2]).toMatch(/^NATS JetStream R3\s+500\s+2\.00x/);
    const md = markdownTable(rows, 256).split('\n');
    expect(md).toHaveLength(4);
    expect(md[1]).toBe('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  });
});

describe('replog bench --local-cluster', () => {
  it('produces and consumes through a throw-away 1-node cluster, prints JSON and writes the plot', async () => {
    const dir = await temp.make('replog-bench-test-');
    const plot = join(dir, 'out.svg');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/cli/run.ts', 'bench', '--local-cluster', '1', '--records', '300', '--inflight', '16', '--json', '--plot', plot],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, TMPDIR: dir } },
    );
    const report = JSON.parse(stdout) as BenchReport;
    expect(report.target).toEqual({ kind: 'local-cluster', nodes: 1, sync: 'always' });
    expect(report.workload).toMatchObject({ records: 300, sizeBytes: 1024, inflight: 16, mode: 'stream', consumeFrom: 'follower' });
    for (const p of [report.produce, report.consume]) {
      expect(p.records).toBe(300);
      expect(p.bytes).toBe(300 * 1024);
      expect(p.recordsPerSec).toBeGreaterThan(0);
      expect(p.latencyMs.p50).toBeLessThanOrEqual(p.latencyMs.p99);
      expect(Object.keys(p.latencyMs).sort()).toEqual(['max', 'mean', 'p50', 'p90', 'p99', 'p999']);
    }
    expect(report.produceRequests).toBeGreaterThan(0);
    expect(report.produceRequests).toBeLessThanOrEqual(300);
    expectWellFormedSvg(readFileSync(plot, 'utf8'));
    // The cluster's temp dir is gone and none of its agents is left running.
    expect(readdirSync(dir).filter((name) => name.startsWith('replog-bench-'))).toEqual([]);
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps.split('\n').filter((l) => l.includes(dir))).toEqual([]);
  });
});
