/**
 * `replog bench`: produce N records at K in flight through the client library, read them back,
 * and print throughput and latency percentiles (HDR histogram); `--json` for one object,
 * `--plot FILE.svg` for a chart. `--local-cluster N` runs against a throw-away local cluster.
 */
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { parseAddrs } from './client-options.js';
import { intOption } from './int-option.js';
import { withLocalCluster } from './bench/local-cluster-run.js';
import { progressBar } from './bench/progress.js';
import { formatReport, type BenchReport, type BenchWorkload } from './bench/report.js';
import { plotRun, runBench } from './bench/run-bench.js';

interface BenchFlags {
  addr?: string;
  localCluster?: string;
  records: string;
  size: string;
  inflight: string;
  mode: string;
  consumeFrom: string;
  batchRecords: string;
  requests: string;
  timeoutMs: string;
  json?: boolean;
  plot?: string;
}

export function benchCommand(): Command {
  return new Command('bench')
    .description('produce N records at K in flight, read them back, print throughput and latency percentiles')
    .option('--addr <host:port,...>', 'any node(s) of a running cluster (default: $REPLOG_ADDR or 127.0.0.1:8400)')
    .option('--local-cluster <n>', 'start a throw-away local cluster of N nodes (sync always) in a temp dir, and stop it after')
    .option('--records <n>', 'records to produce (then read back)', '20000')
    .option('--size <bytes>', 'bytes per record value', '1024')
    .option('--inflight <k>', 'records in flight (each of K producers waits for its acknowledgement)', '256')
    .option('--mode <unary|stream>', 'produce over unary batch calls or over ProduceStream', 'stream')
    .option('--consume-from <follower|leader>', 'where the read-back reads', 'follower')
    .option('--batch-records <n>', 'records per produce request at most (waiting records are coalesced)', '1000')
    .option('--requests <n>', 'produce requests in flight (unary calls or streams)', '2')
    .option('--timeout-ms <ms>', 'deadline of each phase (and of each call)', '300000')
    .option('--json', 'print one JSON object')
    .option('--plot <file.svg>', 'write throughput over time and the latency distribution as SVG')
    .action(async (flags: BenchFlags) => {
      const workload = parseWorkload(flags);
      const timeoutMs = intOption('--timeout-ms', flags.timeoutMs, 1, 24 * 3_600_000);
      const run = (addrs: string[], target: BenchReport['target']): ReturnType<typeof runBench> =>
        runBench({ addrs, workload, target, phaseTimeoutMs: timeoutMs, callTimeoutMs: Math.min(timeoutMs, 30_000), progress: progressBar() });
      let result;
      if (flags.localCluster !== undefined) {
        if (flags.addr !== undefined) throw new ConfigError('--local-cluster', 'give either --addr or --local-cluster, not both');
        const nodes = intOption('--local-cluster', flags.localCluster, 1, 9);
        result = await withLocalCluster({ nodes }, (addrs) => run(addrs, { kind: 'local-cluster', nodes, sync: 'always' }));
      } else {
        const addrs = parseAddrs(flags.addr ?? process.env.REPLOG_ADDR ?? '127.0.0.1:8400');
        result = await run(addrs, { kind: 'addr', addrs });
      }
      if (flags.plot !== undefined) writeFileSync(flags.plot, plotRun(result));
      process.stdout.write(flags.json ? `${JSON.stringify(result.report)}\n` : formatReport(result.report));
    });
}

export function parseWorkload(flags: Pick<BenchFlags, 'records' | 'size' | 'inflight' | 'mode' | 'consumeFrom' | 'batchRecords' | 'requests'>): BenchWorkload {
  const mode = flags.mode;
  if (mode !== 'unary' && mode !== 'stream') throw new ConfigError('--mode', `expected unary or stream, got "${mode}"`);
  const consumeFrom = flags.consumeFrom;
  if (consumeFrom !== 'follower' && consumeFrom !== 'leader') throw new ConfigError('--consume-from', `expected follower or leader, got "${consumeFrom}"`);
  return {
    records: intOption('--records', flags.records, 1, 100_000_000),
    sizeBytes: intOption('--size', flags.size, 1, 4 * 1024 * 1024),
    inflight: intOption('--inflight', flags.inflight, 1, 100_000),
    mode,
    consumeFrom,
    maxBatchRecords: intOption('--batch-records', flags.batchRecords, 1, 100_000),
    requests: intOption('--requests', flags.requests, 1, 1024),
  };
}
