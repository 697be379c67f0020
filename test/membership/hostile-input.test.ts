/**
 * Encryption, and packets that must be dropped (and counted) without harming the node.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { decodePayload, encodeFrame, joinFrames, MalformedPacketError } from '../../src/membership/codec.js';
import { Envelope, parseGossipKey } from '../../src/membership/envelope.js';
import type { GossipMessage } from '../../src/membership/messages.js';
import { ConfigError } from '../../src/errors.js';
import { Prng } from '../../src/util/prng.js';
import { PERIOD_MS, SimCluster, addrOf } from './sim-cluster.js';

let cluster: SimCluster | null = null;
afterEach(async () => {
  await cluster?.closeAll();
  cluster = null;
});

const SAMPLES: GossipMessage[] = [
  { type: 'ping', seq: 7, target: 'n2', from: 'n1' },
  { type: 'ack', seq: 4294967295, from: 'n2' },
  { type: 'ping-req', seq: 1, target: 'n3', targetAddr: '10.0.0.3:7946', from: 'n1' },
  { type: 'alive', name: 'n1', addr: '10.0.0.1:7946', incarnation: 3, tags: { name: 'n1', rpcAddr: '10.0.0.1:9000', 'ünï': 'çødé' } },
  { type: 'suspect', name: 'n2', incarnation: 1, from: 'n1' },
  { type: 'dead', name: 'n2', incarnation: 1, from: 'n3' },
  { type: 'left', name: 'n4', incarnation: 9 },
  { type: 'sync', from: 'n1', replyWanted: true, members: [{ name: 'n1', addr: 'a:1', incarnation: 0, state: 'suspect', tags: {} }] },
];

describe('gossip codec and envelope', () => {
  it('round-trips every message type, plain and sealed', () => {
    for (const env of [new Envelope(), new Envelope(randomBytes(32))]) {
      const packet = env.seal(joinFrames(SAMPLES.map(encodeFrame)));
      const opened = env.open(packet);
      expect(opened.ok).toBe(true);
      if (opened.ok) expect(decodePayload(opened.payload)).toEqual(SAMPLES);
    }
  });

  it('rejects keys that are not 32 bytes, accepts base64', () => {
    expect(() => parseGossipKey(Buffer.alloc(16))).toThrow(ConfigError);
    expect(parseGossipKey(Buffer.alloc(32, 7).toString('base64'))).toEqual(Buffer.alloc(32, 7));
  });

  it('a wrong key, a flipped bit or a clear packet to a keyed node is a decrypt failure', () => {
    const a = new Envelope(randomBytes(32));
    const b = new Envelope(randomBytes(32));
    const payload = joinFrames([encodeFrame(SAMPLES[0]!)]);
    const sealed = a.seal(payload);
    expect(b.open(sealed)).toEqual({ ok: false, reason: 'decrypt' });
    const flipped = Buffer.from(sealed);
    flipped[20] = (flipped[20] ?? 0) ^ 1;
    expect(a.open(flipped)).toEqual({ ok: false, reason: 'decrypt' });
    expect(a.open(new Envelope().seal(payload))).toEqual({ ok: false, reason: 'decrypt' });
  });

  it('random and truncated payloads throw only MalformedPacketError (fast-check)', () => {
    const valid = joinFrames(SAMPLES.map(encodeFrame));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(valid.length), (junk, cut) => {
        for (const bytes of [junk, valid.subarray(0, cut)]) {
          try {
            decodePayload(bytes);
          } catch (err) {
            if (!(err instanceof MalformedPacketError)) throw err;
          }
        }
      }),
      { seed: 42, numRuns: 2000 },
    );
  });
});

describe('hostile input on a running node', () => {
  it('a node with the wrong gossip key never joins, and the drops are counted', async () => {
    const c = new SimCluster(21);
    cluster = c;
    const key = randomBytes(32);
    await c.startJoined(2, { gossipKey: key });
    const intruder = c.add('n3', { gossipKey: randomBytes(32) });
    const plain = c.add('n4');
    const abort = new AbortController();
    const joins = [intruder.m.join([addrOf('n1')], { signal: abort.signal }), plain.m.join([addrOf('n1')], { signal: abort.signal })];
    const settled = Promise.allSettled(joins);
    await c.run(20 * PERIOD_MS);
    abort.abort(new Error('test over'));
    await c.run(100);
    const results = await settled;
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(intruder.m.members().map((m) => m.name)).toEqual(['n3']);
    expect(plain.m.members().map((m) => m.name)).toEqual(['n4']);
    expect(c.node('n1').m.members().map((m) => m.name)).toEqual(['n1', 'n2']);
    expect(c.node('n1').m.stats().droppedDecrypt).toBeGreaterThanOrEqual(2);
    expect(c.view('n1', 'n2')?.state).toBe('alive');
    expect(c.view('n2', 'n1')?.state).toBe('alive');
  });

  it('malformed, oversized and random packets are dropped and counted; the node keeps working', async () => {
    const c = new SimCluster(22);
    cluster = c;
    await c.startJoined(2);
    await c.runUntil(() => c.converged(), 5 * PERIOD_MS, 'convergence');
    const n1 = c.node('n1');
    const transport = c.net.bind('evil:666');
    const rng = new Prng(22);
    const before = n1.m.stats();
    const send = (bytes: Uint8Array): void => transport.send(n1.addr, bytes);
    send(Buffer.alloc(0));
    send(Buffer.of(0x01));
    send(Buffer.of(0x07, 1, 2, 3));
    send(Buffer.concat([Buffer.of(0x01), joinFrames([encodeFrame(SAMPLES[0]!)]).subarray(0, 6)]));
    send(Buffer.alloc(2000, 1));
    for (let i = 0; i < 200; i++) send(Buffer.from(Array.from({ length: 1 + rng.int(300) }, () => rng.int(256))));
    await c.run(PERIOD_MS);
    const after = n1.m.stats();
    expect(after.droppedOversize - before.droppedOversize).toBe(1);
    expect(after.droppedMalformed - before.droppedMalformed).toBeGreaterThanOrEqual(4);
    expect(after.droppedMalformed - before.droppedMalformed + after.droppedOversize - before.droppedOversize + (after.droppedDecrypt - before.droppedDecrypt)).toBeGreaterThanOrEqual(195);
    expect(n1.m.members().map((m) => m.name)).toEqual(['n1', 'n2']);
    await c.run(10 * PERIOD_MS);
    expect(c.converged()).toBe(true);
    expect(n1.events.filter((e) => e.type !== 'join')).toEqual([]);
    await transport.close();
  });
});
