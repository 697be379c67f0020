/**
 * The node driver's persistence loop. A Ready can carry both the commit of entries that are
 * already durable and new entries to persist: what is durable and not rewritten is published
 * before the new entries' fsync, and nothing the Ready rewrites is published before it is stored.
 * close() waits for the Ready being persisted.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryFileSystem } from '../../src/log/index.js';
import { silentLogger } from '../../src/logger.js';
import { EntryType, type Entry, type Message } from '../../src/raft/core/types.js';
import { LogStorage } from '../../src/raft/log-storage.js';
import { RaftNode } from '../../src/raft/node.js';
import type { PeerFrame } from '../../src/raft/peer-frames.js';
import { RaftReplicatedLog } from '../../src/raft/raft-replicated-log.js';
import type { MessageHandler, RaftTransport } from '../../src/raft/transport.js';
import { Prng } from '../../src/util/prng.js';
import { until } from './harness.js';

const SEED = Number(process.env.SEED ?? 5150);

/** A transport that keeps what is sent and delivers nothing. */
class Outbox implements RaftTransport {
  readonly sent: PeerFrame[] = [];
  send(msg: PeerFrame): void {
    this.sent.push(msg);
  }
  onMessage(_handler: MessageHandler): void {}
  disconnect(): void {}
  async close(): Promise<void> {}
}

/** Holds the storage appends that `hold` selects until `release` is called. */
class AppendGate {
  private releaseHeld: (() => void) | undefined;
  held = false;

  constructor(storage: LogStorage, hold: (entries: readonly Entry[]) => boolean) {
    const append = storage.append.bind(storage);
    storage.append = async (entries: readonly Entry[]): Promise<void> => {
      if (hold(entries)) {
        this.held = true;
        await new Promise<void>((resolve) => (this.releaseHeld = resolve));
      }
      await append(entries);
    };
  }

  release(): void {
    this.releaseHeld?.();
  }
}

interface Node {
  storage: LogStorage;
  node: RaftNode;
  rlog: RaftReplicatedLog;
  outbox: Outbox;
}

async function startNode(id: string, voters: string[], commitPersistIntervalMs?: number): Promise<Node> {
  const storage = await LogStorage.open({ dir: `/${id.replace('/', '_')}`, fs: new MemoryFileSystem(), logger: silentLogger(), logOptions: {} });
  await storage.initialize(0, { voters, learners: [] });
  const outbox = new Outbox();
  const raft = { id, electionTicks: 1000, heartbeatTicks: 1, preVote: true, checkQuorum: false, maxInflightMsgs: 64, maxInflightBytes: 16 << 20, maxMsgBytes: 1 << 20 };
  const node = new RaftNode({ raft, storage, transport: outbox, random: new Prng(SEED), logger: silentLogger(), tickMs: 20, commitPersistIntervalMs });
  const rlog = new RaftReplicatedLog({ node, storage, transport: outbox, addressOf: () => undefined, logger: silentLogger() });
  return { storage, node, rlog, outbox };
}

const data = (s: string): Entry['data'] => Buffer.from(s);
const entry = (index: number, term: number, value: string): Entry => ({ index, term, type: EntryType.Data, data: data(value) });

describe(`commit publication by the node driver (seed ${SEED})`, () => {
  let open: Node | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await open?.rlog.close();
    await open?.storage.close();
    open = undefined;
  });

  it('answers a produce whose entry is durable while the next produce is still being persisted', async () => {
    const n = (open = await startNode('a/1', ['a/1']));
    n.node.start();
    await until(() => n.node.softState().role === 'leader', 'the single voter to lead');
    await n.rlog.append([Buffer.from('first')]);
    // `second` is appended (and fsynced) by itself; `third` is proposed while that runs, so it
    // goes out in the Ready that also carries the commit of `second`. Its append is held until
    // `second` is answered, or (the defect) for good: the fallback below releases it after 5 s.
    let release: 'answered' | 'fallback' | undefined;
    const valueOf = (entries: readonly Entry[]): string[] => entries.map((e) => Buffer.from(e.data).toString());
    const secondGate = new AppendGate(n.storage, (entries) => valueOf(entries).includes('second'));
    const gate = new AppendGate(n.storage, (entries) => valueOf(entries).includes('third'));
    const second = n.rlog.append([Buffer.from('second')]);
    await until(() => secondGate.held, 'the append of second to start');
    const third = n.rlog.append([Buffer.from('third')]);
    secondGate.release();
    const fallback = setTimeout(() => {
      release ??= 'fallback';
      gate.release();
    }, 5000);
    try {
      const offset = await second;
      release ??= 'answered';
      expect(gate.held).toBe(true);
      gate.release();
      expect(offset).toBe(1);
      expect(await third).toBe(2);
    } finally {
      clearTimeout(fallback);
    }
    expect(release).toBe('answered');
  });

  it('never publishes an entry that the Ready being persisted rewrites', async () => {
    // A follower whose entries 2..4 (term 2) came from leader a; c, leader of term 3, keeps 2
    // and replaces 3 with its own entry, committed up to 3.
    const n = (open = await startNode('b/1', ['a/1', 'b/1', 'c/1']));
    const append = (m: Omit<Extract<Message, { type: 'AppendEntries' }>, 'type' | 'to'>): void =>
      n.node.step({ type: 'AppendEntries', to: 'b/1', ...m });
    append({ from: 'a/1', term: 2, prevIndex: 1, prevTerm: 1, entries: [entry(2, 2, 'x'), entry(3, 2, 'y'), entry(4, 2, 'z')], commit: 1 });
    await until(() => n.storage.lastIndex() === 4, 'the follower to store entries 2..4');
    const gate = new AppendGate(n.storage, (entries) => entries[0]?.index === 3);
    append({ from: 'c/1', term: 3, prevIndex: 2, prevTerm: 2, entries: [entry(3, 3, 'Y')], commit: 3 });
    await until(() => gate.held, 'the rewrite of entry 3 to reach storage');
    try {
      // Entry 2 is durable and kept: it is visible now. Entry 3 is still the old 'y' on disk.
      expect(n.node.commitIndex()).toBe(2);
      expect(n.rlog.highestOffset()).toBe(0);
    } finally {
      gate.release();
    }
    await until(() => n.node.commitIndex() === 3, 'the commit of the rewritten entry');
    expect((await n.rlog.read(0)).value.toString()).toBe('x');
    expect((await n.rlog.read(1)).value.toString()).toBe('Y');
  });

  it('close() waits for the Ready being persisted, even after the commit timer fired during it', async () => {
    // The timer's lazy commit write found the loop running and returned at once; its promise
    // replaced the loop's, so close() returned while an append was in flight.
    // Only the intervals are faked: the commit timer fires when the test says so.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const n = (open = await startNode('a/1', ['a/1'], 50));
    n.node.start();
    await until(() => n.node.softState().role === 'leader', 'the single voter to lead');
    await n.rlog.append([Buffer.from('first')]);
    const gate = new AppendGate(n.storage, (entries) => entries.some((e) => Buffer.from(e.data).toString() === 'held'));
    const held = n.rlog.append([Buffer.from('held')]).catch(() => undefined);
    try {
      await until(() => gate.held, 'the append to be held');
      vi.advanceTimersByTime(200);
      let closed = false;
      const closing = n.node.close().then(() => (closed = true));
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      expect(closed, 'close() returned while an append was still being persisted').toBe(false);
      gate.release();
      await closing;
    } finally {
      gate.release();
    }
    await held;
  });
});
