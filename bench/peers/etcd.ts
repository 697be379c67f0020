/**
 * etcd as a peer: 3 members on 127.0.0.1 with data dirs in a temp dir, through the etcd3 npm
 * client. Produce = a put of a new key with the record as value (etcd fsyncs its WAL before it
 * acknowledges); read-back = range gets of 1000 keys at a time over the repetition's prefix
 * (etcd's default, linearizable, range reads).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePorts, retryUntil, startProcess, stopAll, waitForPort, type Spawned } from './processes.js';
import type { PeerSystem } from './system.js';

const pageKeys = 1000;

export class EtcdSystem implements PeerSystem {
  readonly name = 'etcd 3 members';
  private dir = '';
  private procs: Spawned[] = [];
  private client: Etcd3 | undefined;
  private prefix = '';
  private seq = 0;
  private stopped = false;

  constructor(readonly comparedWith: string) {}

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'bench-etcd-'));
    const members = 3;
    const ports = await freePorts(members * 2);
    const clientUrl = (i: number): string => `http://127.0.0.1:${ports[i * 2] ?? 0}`;
    const peerUrl = (i: number): string => `http://127.0.0.1:${ports[i * 2 + 1] ?? 0}`;
    const cluster = Array.from({ length: members }, (_, i) => `e${i}=${peerUrl(i)}`).join(',');
    for (let i = 0; i < members; i++) {
      this.procs.push(
        startProcess(`etcd e${i}`, 'etcd', [
          '--name', `e${i}`,
          '--data-dir', join(this.dir, `e${i}`),
          '--listen-client-urls', clientUrl(i),
          '--advertise-client-urls', clientUrl(i),
          '--listen-peer-urls', peerUrl(i),
          '--initial-advertise-peer-urls', peerUrl(i),
          '--initial-cluster', cluster,
          '--initial-cluster-state', 'new',
          '--initial-cluster-token', 'bench',
          '--logger', 'zap',
          '--log-level', 'error',
        ]),
      );
    }
    await Promise.all(this.procs.map((p, i) => waitForPort(p, ports[i * 2] ?? 0)));
    this.client = new Etcd3({ hosts: Array.from({ length: members }, (_, i) => clientUrl(i)) });
    const client = this.client;
    await retryUntil('etcd cluster', 60_000, () => client.put('bench/ready').value('1').exec());
  }

  async beginRep(rep: number): Promise<void> {
    this.prefix = `bench/r${rep}/`;
    this.seq = 0;
    const client = this.must();
    const warm = Buffer.alloc(16);
    for (let i = 0; i < 100; i++) await client.put(`bench/warm/${i}`).value(warm).exec();
  }

  async produce(value: Buffer): Promise<void> {
    const key = `${this.prefix}${String(this.seq++).padStart(10, '0')}`;
    await this.must().put(key).value(value).exec();
  }

  async *readBack(count: number, signal: AbortSignal): AsyncGenerator<unknown> {
    const client = this.must();
    const end = `${this.prefix.slice(0, -1)}0`; // the key just after every key with the prefix ('/' + 1 = '0')
    let start = this.prefix;
    let n = 0;
    while (n < count && !signal.aborted) {
      const res = await client.getAll().inRange({ start, end }).limit(pageKeys).exec();
      if (res.kvs.length === 0) return;
      for (const kv of res.kvs) {
        yield kv.value;
        if (++n >= count) return;
      }
      start = `${res.kvs.at(-1)?.key.toString() ?? end}\0`;
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.client?.close();
    await stopAll(this.procs);
    if (this.dir !== '') rmSync(this.dir, { recursive: true, force: true });
  }

  private must(): Etcd3 {
    if (this.client === undefined) throw new Error(`${this.name}: not started`);
    return this.client;
  }
}
