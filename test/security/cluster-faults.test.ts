/**
 * Hostile and broken input on a real 3-node cluster of agent processes: a peer connection that
 * replays an old-term AppendEntries or sends garbage and oversized frames (the log does not change,
 * the node keeps serving), and a corrupt segment on one follower (reads of the corrupt range fail
 * DATA_LOSS naming the file, never wrong bytes; wiping the node's data dir repairs it).
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { LocalCluster, LocalNode } from '../../src/cli/local-cluster.js';
import { LogApiClient } from '../../src/client/log-client.js';
import { isServiceError } from '../../src/client/rpc-status.js';
import { encodeMessage } from '../../src/raft/codec.js';
import { EntryType } from '../../src/raft/core/types.js';
import { RAFT_MUX_BYTE } from '../../src/raft/tcp-transport.js';
import { eventually, leaderOf, produceRetrying, readAll, startCluster } from '../cluster/helpers.js';

const RECORDS = 400;
const valueOf = (i: number): string => `value-${String(i).padStart(5, '0')}-${'x'.repeat(40)}`;

/** name/uuid and the cluster id, from the node's node.json. */
function identityOf(node: LocalNode): { id: string; cluster: string } {
  const json = JSON.parse(readFileSync(join(node.dataDir, 'node.json'), 'utf8')) as { name: string; uuid: string; cluster?: { id: string } };
  return { id: `${json.name}/${json.uuid}`, cluster: json.cluster?.id ?? '' };
}

function storeFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.store'))
    .map((f) => join(dir, f));
}

/** Writes `frames` on a fresh peer connection to `addr`; resolves when the node hangs up (or after the deadline). */
function sendRaw(addr: string, frames: Buffer[]): Promise<'closed' | 'open'> {
  const [host, port] = addr.split(':');
  return new Promise((resolve) => {
    const sock = connect(Number(port), host ?? '127.0.0.1', () => {
      sock.write(Buffer.of(RAFT_MUX_BYTE));
      for (const f of frames) sock.write(f);
    });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve('open');
    }, 3000);
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

function frame(body: Buffer): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

async function metric(node: LocalNode, name: string): Promise<number> {
  const text = await (await fetch(`http://${node.metricsAddr}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? NaN);
}

describe('a 3-node cluster under hostile peers and a corrupt segment', () => {
  let cluster: LocalCluster;
  let logs: string[];
  let cleanup: () => Promise<void>;
  const expected = new Map<number, string>();
  /** The node the first test crashed (kill -9): the second picks a follower that stopped cleanly. */
  let crashed = '';

  beforeAll(async () => {
    ({ cluster, logs, cleanup } = await startCluster(3));
    const { leader } = await leaderOf(cluster);
    for (let i = 0; i < RECORDS; i += 50) {
      const values = Array.from({ length: 50 }, (_, k) => Buffer.from(valueOf(i + k)));
      const first = await produceRetrying(leader.rpcAddr, values);
      values.forEach((v, k) => expected.set(first + k, v.toString()));
    }
    for (const n of ['n1', 'n2', 'n3']) {
      await eventually(async () => ((await readAll(cluster.node(n).rpcAddr)).size === RECORDS ? true : undefined), `${n} has every record`);
    }
  }, 90_000);

  afterAll(async () => {
    await cleanup();
  });

  const dumpLogs = (): void => onTestFailed(() => console.error(`agent logs (last lines):\n${logs.slice(-60).join('\n')}`));

  it('ignores a replayed old-term AppendEntries and drops garbage and oversized frames', async () => {
    dumpLogs();
    const { leader: old } = await leaderOf(cluster);
    // A new term: everything the old leader sent is now an old-term message.
    crashed = old.name;
    await cluster.signal(old.name, 'SIGKILL');
    cluster.restart(old.name);
    const { leader } = await eventually(async () => {
      const l = await leaderOf(cluster);
      return l.leader.name !== old.name ? l : undefined;
    }, 'a new leader');
    const target = cluster.nodes.find((n) => n.name !== leader.name && n.name !== old.name) ?? leader;
    const from = identityOf(old);
    const to = identityOf(target);
    const termBefore = await metric(target, 'replog_raft_term');
    const lastBefore = await metric(target, 'replog_raft_last_index');
    expect(termBefore).toBeGreaterThan(1);
    const hello = frame(Buffer.from(JSON.stringify({ v: 1, from: from.id, to: to.id, cluster: from.cluster })));
    const replay = encodeMessage({
      type: 'AppendEntries',
      from: from.id,
      to: to.id,
      term: termBefore - 1,
      prevIndex: 3,
      prevTerm: 1,
      commit: lastBefore + 5,
      entries: Array.from({ length: 5 }, (_, k) => ({ index: 4 + k, term: termBefore - 1, type: EntryType.Data, data: Buffer.from(`forged-${k}`) })),
    });
    expect(await sendRaw(target.rpcAddr, [hello, replay])).toBe('open');
    expect(await sendRaw(target.rpcAddr, [hello, Buffer.from('\x00\x00\x00\x08garbage!')])).toBe('closed');
    const oversized = Buffer.alloc(8);
    oversized.writeUInt32BE(0xffff_fff0, 0);
    expect(await sendRaw(target.rpcAddr, [hello, oversized])).toBe('closed');
    expect(await sendRaw(target.rpcAddr, [Buffer.from('random bytes that are no hello at all')])).toBe('closed');

    expect(target.process, 'the node exited').toBeDefined();
    expect(await metric(target, 'replog_peer_connections_refused')).toBeGreaterThanOrEqual(3);
    // The log is untouched: every node serves exactly what was acknowledged, and still replicates.
    const more = await produceRetrying(leader.rpcAddr, [Buffer.from('after-the-attack')]);
    expected.set(more, 'after-the-attack');
    await eventually(async () => ((await readAll(target.rpcAddr)).size === expected.size ? true : undefined), 'the new record on the target');
    expect(await readAll(target.rpcAddr)).toEqual(expected);
  }, 60_000);

  it('refuses to serve a corrupt range naming the file, and is repaired by a wipe and catch-up', async () => {
    dumpLogs();
    const { leader } = await leaderOf(cluster);
    const follower = cluster.nodes.find((n) => n.name !== leader.name && n.name !== crashed) as LocalNode;
    await cluster.signal(follower.name, 'SIGTERM');
    // Flip bytes inside an early record's value (early: recovery rescans only the newest records).
    const victim = valueOf(10);
    const file = storeFiles(follower.dataDir).find((f) => readFileSync(f).includes(victim));
    expect(file, 'no store file holds the record').toBeDefined();
    const bytes = readFileSync(file as string);
    const at = bytes.indexOf(victim) + 8;
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    writeFileSync(file as string, bytes);
    cluster.restart(follower.name);

    const offset = [...expected].find(([, v]) => v === victim)?.[0] ?? -1;
    // Until it has opened its log the node answers UNAVAILABLE or OUT_OF_RANGE; then it must refuse.
    const answer = await eventually(async () => {
      const client = new LogApiClient({ addr: follower.rpcAddr, callTimeoutMs: 5000 });
      try {
        const r = await client.consume(offset);
        return { served: r.value.toString() };
      } catch (e) {
        const settled = isServiceError(e) && e.code !== Status.UNAVAILABLE && e.code !== Status.OUT_OF_RANGE;
        return settled ? { err: e } : undefined;
      } finally {
        client.close();
      }
    }, 'the restarted follower to answer for the corrupt record');
    expect(answer.served, 'the node served the corrupt record').toBeUndefined();
    const err = answer.err as ServiceError;
    expect(err.code).toBe(Status.DATA_LOSS);
    expect(err.details).toContain((file as string).split('/').pop());
    expect(follower.process, 'the follower exited').toBeDefined();
    await eventually(() => (logs.some((l) => l.startsWith(`[${follower.name}]`) && l.includes(file as string)) ? true : undefined), 'a server log line with the full path');

    // Repair: stop, wipe, restart with the same name; it catches up from the others.
    await cluster.signal(follower.name, 'SIGTERM');
    rmSync(follower.dataDir, { recursive: true, force: true });
    cluster.restart(follower.name);
    const repaired = await eventually(async () => {
      const got = await readAll(follower.rpcAddr);
      return got.size === expected.size ? got : undefined;
    }, 'the wiped follower to catch up', 60_000);
    expect(repaired).toEqual(expected);
  }, 120_000);
});
