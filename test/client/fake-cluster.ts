/**
 * A fake 3-node cluster for client tests: three in-process gRPC servers on 127.0.0.1 sharing one
 * MemoryReplicatedLog. One node is the leader; the others answer produce with UNAVAILABLE and the
 * leader's address in `replog-leader` (as a follower that cannot forward does). GetServers lists
 * every node, also the stopped ones (a real node keeps the last known address of a member).
 */
import { UnavailableError } from '../../src/errors.js';
import type { AppendOptions, AppendResult, ConsumedRecord, ProducerRef, ReadBatchLimits, ReplicatedLog, ServerInfo } from '../../src/replicated-log.js';
import { MemoryReplicatedLog } from '../../src/server/memory-replicated-log.js';
import { startTestServer, type TestServer } from '../helpers/api-server.js';

export class FakeNodeLog implements ReplicatedLog {
  /** Appends this node performed (as the leader). */
  appends = 0;
  /** Produce requests this node refused (as a follower) or failed on purpose. */
  refused = 0;
  /** Reads this node served (Consume and ConsumeStream batches). */
  reads = 0;
  /** The next appends fail with these errors (outcome-unknown failures of a leader). */
  readonly failNext: Error[] = [];
  /** While set, appends wait until release() (a leader that has not committed yet). */
  hold = false;
  private readonly held: Array<{ go: () => void; reject: (e: Error) => void }> = [];

  constructor(
    private readonly cluster: FakeCluster,
    readonly name: string,
  ) {}

  heldCount(): number {
    return this.held.length;
  }

  /** Ends the held appends: with `err` (not appended), or appended when no error is given. */
  release(err?: Error): void {
    for (const h of this.held.splice(0)) {
      if (err) h.reject(err);
      else h.go();
    }
  }

  append(values: readonly Buffer[], _opts?: AppendOptions): Promise<number> {
    return this.asLeader(() => this.cluster.log.append(values));
  }

  appendIdempotent(values: readonly Buffer[], producer: ProducerRef, _opts?: AppendOptions): Promise<AppendResult> {
    return this.asLeader(() => this.cluster.log.appendIdempotent(values, producer));
  }

  /** Refuses off the leader, applies an injected failure, or runs the append (maybe held). */
  private asLeader<T>(run: () => Promise<T>): Promise<T> {
    if (this.cluster.leader !== this.name) {
      this.refused++;
      return Promise.reject(new UnavailableError(`${this.name} is not the leader`, this.cluster.leaderAddr()));
    }
    const injected = this.failNext.shift();
    if (injected) {
      this.refused++;
      return Promise.reject(injected);
    }
    this.appends++;
    return this.maybeHeld(run);
  }

  private maybeHeld<T>(run: () => Promise<T>): Promise<T> {
    if (!this.hold) return run();
    return new Promise<T>((resolve, reject) => this.held.push({ go: () => void run().then(resolve, reject), reject }));
  }

  read(offset: number): Promise<ConsumedRecord> {
    this.reads++;
    return this.cluster.log.read(offset);
  }

  readBatch(from: number, limits: ReadBatchLimits): Promise<ConsumedRecord[]> {
    this.reads++;
    return this.cluster.log.readBatch(from, limits);
  }

  waitFor(offset: number, signal?: AbortSignal): Promise<void> {
    return this.cluster.log.waitFor(offset, signal);
  }

  readBarrier(signal?: AbortSignal): Promise<void> {
    return this.cluster.log.readBarrier(signal);
  }

  lowestOffset(): number {
    return this.cluster.log.lowestOffset();
  }

  highestOffset(): number {
    return this.cluster.log.highestOffset();
  }

  servers(): Promise<ServerInfo[]> {
    return Promise.resolve(this.cluster.servers());
  }

  /** The shared log outlives every node: closing one node closes nothing. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export interface FakeNode {
  name: string;
  addr: string;
  log: FakeNodeLog;
  server: TestServer;
  stopped: boolean;
}

export class FakeCluster {
  readonly log = new MemoryReplicatedLog();
  readonly nodes: FakeNode[] = [];
  /** Name of the leader; undefined = no leader known. */
  leader: string | undefined = 'n1';

  static async start(size = 3): Promise<FakeCluster> {
    const cluster = new FakeCluster();
    for (let i = 1; i <= size; i++) {
      const log = new FakeNodeLog(cluster, `n${i}`);
      const server = await startTestServer({ log });
      cluster.nodes.push({ name: log.name, addr: server.addr, log, server, stopped: false });
    }
    return cluster;
  }

  node(name: string): FakeNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  addr(name: string): string {
    return this.node(name).addr;
  }

  leaderAddr(): string | undefined {
    return this.leader === undefined ? undefined : this.addr(this.leader);
  }

  servers(): ServerInfo[] {
    return this.nodes.map((n) => ({ id: n.name, rpcAddr: n.addr, isLeader: n.name === this.leader }));
  }

  /** Offsets and values now in the shared log. */
  async contents(): Promise<string[]> {
    const out: string[] = [];
    for (let o = this.log.lowestOffset(); o <= this.log.highestOffset(); o++) out.push((await this.log.read(o)).value.toString());
    return out;
  }

  async stop(name: string): Promise<void> {
    const n = this.node(name);
    if (n.stopped) return;
    n.stopped = true;
    n.log.release(new UnavailableError(`${name} is shutting down`));
    await n.server.close();
  }

  async close(): Promise<void> {
    for (const n of this.nodes) await this.stop(n.name);
    await this.log.close();
  }
}
