/**
 * replog as a system of the peer benchmark: a LocalCluster of N agents (sync always) in a temp
 * dir, measured through the same ReplogTarget as `replog bench` (client library defaults:
 * coalesced batches over ProduceStream, batched ConsumeStream from a follower).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../../src/cli/local-cluster.js';
import { ReplogTarget, type ProduceMode } from '../../src/cli/bench/replog-target.js';
import { trackChild } from './processes.js';
import type { PeerSystem } from './system.js';

export interface ReplogSystemOptions {
  nodes: number;
  mode: ProduceMode;
  requests: number;
  maxBatchRecords: number;
  /** Records in flight at most (bounds the client's queue). */
  inflightMax: number;
}

export class ReplogSystem implements PeerSystem {
  readonly name: string;
  readonly comparedWith = undefined;
  private dir = '';
  private cluster: LocalCluster | undefined;
  private target: ReplogTarget | undefined;
  private repStart = 0;
  private stopped = false;

  constructor(private readonly opts: ReplogSystemOptions) {
    this.name = `replog ${opts.nodes} node${opts.nodes > 1 ? 's' : ''}`;
  }

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'bench-replog-'));
    this.cluster = await LocalCluster.start({ nodes: this.opts.nodes, dataDir: this.dir, basePort: 0, agentArgs: ['--sync', 'always', '--log-level', 'warn'] });
    for (const node of this.cluster.nodes) if (node.process) trackChild(`replog ${node.name}`, node.process);
    const servers = await this.cluster.waitForLeader(60_000);
    this.target = new ReplogTarget({
      addrs: servers.map((s) => s.rpcAddr),
      mode: this.opts.mode,
      inflight: this.opts.inflightMax,
      maxBatchRecords: this.opts.maxBatchRecords,
      requests: this.opts.requests,
      consumeFrom: 'follower',
      callTimeoutMs: 30_000,
    });
  }

  async beginRep(): Promise<void> {
    const target = this.must();
    const warm = Buffer.alloc(16);
    await target.warmUp(warm);
    for (let i = 0; i < 100; i++) await target.produce(warm);
    this.repStart = (await target.produce(warm)) + 1;
  }

  async produce(value: Buffer): Promise<void> {
    await this.must().produce(value);
  }

  readBack(_count: number, signal: AbortSignal): AsyncIterable<unknown> {
    return this.must().read(this.repStart, signal);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.target?.close();
    await this.cluster?.stop(10_000);
    if (this.dir !== '') rmSync(this.dir, { recursive: true, force: true });
  }

  private must(): ReplogTarget {
    if (this.target === undefined) throw new Error(`${this.name}: not started`);
    return this.target;
  }
}
