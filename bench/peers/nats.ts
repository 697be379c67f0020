/**
 * NATS JetStream as a peer: 1 server (R1) or 3 clustered servers (R3) on 127.0.0.1, file
 * storage in temp dirs, through @nats-io/transport-node + @nats-io/jetstream. Produce =
 * js.publish (waits for the PubAck); read-back = an ordered consumer. nats-server 2.9 acknowledges
 * a publish before its data is fsynced (it syncs its files in the background) and has
 * no option to fsync each write.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { freePorts, retryUntil, startProcess, stopAll, waitForPort, type Spawned } from './processes.js';
import type { PeerSystem } from './system.js';

export const natsFsyncNote = 'NATS JetStream (nats-server 2.9) acknowledges a publish before fsync (it syncs its files in the background) and cannot be told to fsync each write; replog and etcd fsync before every acknowledgement.';

export class NatsSystem implements PeerSystem {
  readonly name: string;
  private dir = '';
  private procs: Spawned[] = [];
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;
  private stream = '';
  private stopped = false;

  constructor(
    private readonly replicas: 1 | 3,
    readonly comparedWith: string,
  ) {
    this.name = `NATS JetStream R${replicas}`;
  }

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'bench-nats-'));
    const servers = this.replicas;
    const ports = await freePorts(servers * 2);
    const clientPort = (i: number): number => ports[i * 2] ?? 0;
    const routePort = (i: number): number => ports[i * 2 + 1] ?? 0;
    for (let i = 0; i < servers; i++) {
      const args = ['-a', '127.0.0.1', '-p', String(clientPort(i)), '-js', '-sd', join(this.dir, `s${i}`), '-n', `s${i}`];
      if (servers > 1) {
        const routes = Array.from({ length: servers }, (_, k) => `nats://127.0.0.1:${routePort(k)}`).join(',');
        args.push('--cluster_name', 'bench', '--cluster', `nats://127.0.0.1:${routePort(i)}`, '--routes', routes);
      }
      this.procs.push(startProcess(`nats-server s${i}`, 'nats-server', args));
    }
    await Promise.all(this.procs.map((p, i) => waitForPort(p, clientPort(i))));
    this.nc = await connect({ servers: this.procs.map((_, i) => `127.0.0.1:${clientPort(i)}`) });
    this.jsm = await retryUntil('JetStream', 60_000, () => jetstreamManager(this.nc as NatsConnection));
    this.js = jetstream(this.nc);
  }

  async beginRep(rep: number): Promise<void> {
    const jsm = this.must(this.jsm);
    if (this.stream !== '') await jsm.streams.delete(this.stream);
    this.stream = `bench_${rep}`;
    await retryUntil(`stream ${this.stream}`, 60_000, () =>
      jsm.streams.add({ name: this.stream, subjects: [`${this.stream}.>`], storage: StorageType.File, num_replicas: this.replicas }),
    );
    const warm = Buffer.alloc(16);
    for (let i = 0; i < 100; i++) await this.produce(warm);
    await jsm.streams.purge(this.stream);
  }

  async produce(value: Buffer): Promise<void> {
    await this.must(this.js).publish(`${this.stream}.r`, value);
  }

  async *readBack(count: number, signal: AbortSignal): AsyncGenerator<unknown> {
    const consumer = await this.must(this.js).consumers.get(this.stream);
    const messages = await consumer.consume();
    const stop = (): void => void messages.stop();
    signal.addEventListener('abort', stop, { once: true });
    let n = 0;
    try {
      for await (const m of messages) {
        yield m.data;
        if (++n >= count) break;
      }
    } finally {
      signal.removeEventListener('abort', stop);
      messages.stop();
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.nc?.close().catch(() => undefined);
    await stopAll(this.procs);
    if (this.dir !== '') rmSync(this.dir, { recursive: true, force: true });
  }

  private must<T>(v: T | undefined): T {
    if (v === undefined) throw new Error(`${this.name}: not started`);
    return v;
  }
}
