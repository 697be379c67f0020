/**
 * One `replog bench` run against a reachable cluster: warm up, produce N records at K in
 * flight, read them back, and report. Used by the CLI and by the peer benchmark (bench/peers).
 */
import { cpus } from 'node:os';
import { renderBenchSvg } from './svg-plot.js';
import { phaseReport, type BenchReport, type BenchWorkload } from './report.js';
import { ReplogTarget } from './replog-target.js';
import { runProducePhase, runReadPhase, type PhaseResult } from './workload.js';
import type { Progress } from './progress.js';

export interface RunBenchOptions {
  addrs: readonly string[];
  workload: BenchWorkload;
  target: BenchReport['target'];
  /** Deadline of each phase. */
  phaseTimeoutMs: number;
  callTimeoutMs: number;
  progress: Progress;
}

export interface BenchRun {
  report: BenchReport;
  produce: PhaseResult;
  consume: PhaseResult;
}

export async function runBench(opts: RunBenchOptions): Promise<BenchRun> {
  const w = opts.workload;
  const startedAt = new Date().toISOString();
  const target = new ReplogTarget({ addrs: opts.addrs, mode: w.mode, inflight: w.inflight, maxBatchRecords: w.maxBatchRecords, requests: w.requests, consumeFrom: w.consumeFrom, callTimeoutMs: opts.callTimeoutMs });
  const value = Buffer.alloc(w.sizeBytes, 'x');
  try {
    await target.warmUp(value);
    opts.progress.start('produce', w.records);
    const produce = await runProducePhase({
      records: w.records,
      inflight: w.inflight,
      valueBytes: w.sizeBytes,
      produce: async () => void (await target.produce(value)),
      deadlineMs: opts.phaseTimeoutMs,
      onProgress: (n) => opts.progress.update(n),
    });
    opts.progress.start('consume', w.records);
    const from = target.firstOffset();
    const consume = await runReadPhase({
      records: w.records,
      valueBytes: w.sizeBytes,
      read: (signal) => target.read(Number.isFinite(from) ? from : 0, signal),
      deadlineMs: opts.phaseTimeoutMs,
      onProgress: (n) => opts.progress.update(n),
    });
    const report: BenchReport = {
      target: opts.target,
      workload: w,
      produce: phaseReport(produce),
      consume: phaseReport(consume),
      produceRequests: target.requestsSent(),
      machine: { node: process.version, cores: cpus().length, platform: `${process.platform}-${process.arch}` },
      startedAt,
    };
    return { report, produce, consume };
  } finally {
    opts.progress.stop();
    await target.close();
  }
}

/** The SVG of a run: produce then consume on one time axis, and both latency distributions. */
export function plotRun(run: BenchRun): string {
  const w = run.report.workload;
  const title = `replog bench: ${w.records} x ${w.sizeBytes} B, ${w.inflight} in flight, ${w.mode}; ${run.report.produce.recordsPerSec} produced/s, ${run.report.consume.recordsPerSec} consumed/s`;
  return renderBenchSvg(title, [
    { name: 'produce', color: '#1f77b4', timeline: run.produce.timeline, startSec: 0, curve: run.produce.curve },
    { name: 'consume', color: '#ff7f0e', timeline: run.consume.timeline, startSec: run.produce.elapsedMs / 1000, curve: run.consume.curve },
  ]);
}
