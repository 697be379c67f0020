import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryFileSystem, NodeFileSystem, type FileSystem } from '../../src/log/index.js';
import { silentLogger } from '../../src/logger.js';
import type { RaftOptions } from '../../src/raft/core/types.js';
import { LogStorage } from '../../src/raft/log-storage.js';
import { RaftNode } from '../../src/raft/node.js';
import { RaftReplicatedLog } from '../../src/raft/raft-replicated-log.js';
import { RAFT_MUX_BYTE, TcpTransport } from '../../src/raft/tcp-transport.js';
import { Prng } from '../../src/util/prng.js';
import { withSyncLatency } from './slow-sync-fs.js';

export interface TestNode {
  id: string;
  dir: string;
  storage: LogStorage;
  node: RaftNode;
  rlog: RaftReplicatedLog;
  transport: TcpTransport;
  server: net.Server;
  addr: string;
}

/** An in-process cluster of real nodes: real files, real TCP on 127.0.0.1, real timers. */
export class TestCluster {
  readonly nodes = new Map<string, TestNode>();
  readonly addrs = new Map<string, string>();
  readonly root: string;
  /** Per-node disks when the cluster runs on MemoryFileSystem (power-loss tests). */
  readonly disks = new Map<string, MemoryFileSystem>();
  private readonly realFs = new NodeFileSystem();

  constructor(
    readonly ids: string[],
    private readonly seed: number,
    private readonly opts: { memory?: boolean; segment?: { maxStoreBytes: number; maxIndexBytes: number } } = {},
  ) {
    this.root = opts.memory ? '/cluster' : mkdtempSync(join(tmpdir(), 'replog-cluster-'));
  }

  private fsOf(id: string): FileSystem {
    if (!this.opts.memory) return this.realFs;
    let disk = this.disks.get(id);
    if (!disk) {
      disk = new MemoryFileSystem();
      this.disks.set(id, disk);
    }
    const rng = new Prng(this.seed ^ hash(id));
    return withSyncLatency(disk, 2, () => rng.float());
  }

  /**
   * Power loss of one node: its process stops without any cleanup and its disk keeps only what
   * was fsynced (plus a random, possibly torn, part of the rest). Restart it with start().
   */
  async powerLoss(id: string, rng: Prng): Promise<void> {
    const n = this.nodes.get(id);
    const disk = this.disks.get(id);
    if (!n || !disk) throw new Error(`no in-memory node ${id}`);
    this.nodes.delete(id);
    this.disks.set(id, disk.powerLoss(rng, { garble: true }));
    await n.transport.close();
    await new Promise<void>((r) => n.server.close(() => r()));
    await n.rlog.close().catch(() => undefined);
  }

  raftOptions(id: string): RaftOptions {
    return { id, electionTicks: 10, heartbeatTicks: 1, preVote: true, checkQuorum: true, maxInflightMsgs: 64, maxInflightBytes: 16 << 20, maxMsgBytes: 1 << 20 };
  }

  async start(id: string, bootstrap: boolean): Promise<TestNode> {
    const dir = join(this.root, id.replace('/', '_'));
    const segment = this.opts.segment ?? { maxStoreBytes: 1 << 20, maxIndexBytes: 1 << 16 };
    const storage = await LogStorage.open({ dir, fs: this.fsOf(id), logger: silentLogger(), logOptions: { segment } });
    if (!storage.isInitialized()) await storage.initialize(0, bootstrap ? { voters: this.ids, learners: [] } : undefined);
    const transport = new TcpTransport({ localId: id, clusterId: 'test', resolve: (peer) => this.addrs.get(peer) });
    const server = net.createServer((sock) => {
      sock.once('readable', () => {
        const first = sock.read(1) as Buffer | null;
        if (first?.[0] === RAFT_MUX_BYTE) transport.accept(sock);
        else sock.destroy();
      });
    });
    const prev = this.addrs.get(id);
    const port = prev ? Number(prev.split(':')[1]) : 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    const addr = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    this.addrs.set(id, addr);
    const node = new RaftNode({ raft: this.raftOptions(id), storage, transport, random: new Prng(this.seed ^ hash(id)), logger: silentLogger(), tickMs: 20 });
    const rlog = new RaftReplicatedLog({ node, storage, transport, addressOf: (peer) => this.addrs.get(peer), logger: silentLogger() });
    node.start();
    const n: TestNode = { id, dir, storage, node, rlog, transport, server, addr };
    this.nodes.set(id, n);
    return n;
  }

  async startAll(): Promise<void> {
    for (const id of this.ids) await this.start(id, true);
  }

  /** Stops a node (its files stay). */
  async stop(id: string): Promise<void> {
    const n = this.nodes.get(id);
    if (!n) return;
    this.nodes.delete(id);
    await n.transport.close();
    await new Promise<void>((r) => n.server.close(() => r()));
    await n.rlog.close();
    await n.storage.close();
  }

  leader(): TestNode | undefined {
    for (const n of this.nodes.values()) if (n.node.softState().role === 'leader') return n;
    return undefined;
  }

  async waitForLeader(timeoutMs = 10_000): Promise<TestNode> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const l = this.leader();
      if (l) return l;
      if (Date.now() > deadline) throw new Error(`no leader within ${timeoutMs} ms (seed ${this.seed})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    for (const id of [...this.nodes.keys()]) await this.stop(id);
    if (!this.opts.memory) rmSync(this.root, { recursive: true, force: true });
  }
}

export { until } from '../helpers/wait.js';

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
