/**
 * Hostile gossip over real UDP (src/membership/udp-transport.ts) between members with a gossip key:
 * malformed, oversized, wrong-key, unencrypted and spoofed packets, and authentic packets replayed
 * by an eavesdropper, are dropped or change nothing; the members keep working (a new one joins).
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { encodeFrame, joinFrames } from '../../src/membership/codec.js';
import { Envelope } from '../../src/membership/envelope.js';
import { Membership, UdpTransport, type MembershipEvent } from '../../src/membership/index.js';
import type { GossipMessage } from '../../src/membership/messages.js';
import type { GossipTransport } from '../../src/membership/types.js';
import { Prng } from '../../src/util/prng.js';
import { until } from '../helpers/wait.js';

const FAST = { probeIntervalMs: 100, probeTimeoutMs: 50, gossipIntervalMs: 50, pushPullIntervalMs: 2000, joinRetryInitialMs: 100, joinRetryMaxMs: 500 };
const seed = Date.now() % 1_000_000;
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

/** Wraps a transport and keeps copies of the datagrams it receives (an eavesdropper's capture). */
class TappedTransport implements GossipTransport {
  readonly captured: Buffer[] = [];
  constructor(private readonly inner: UdpTransport) {}
  localAddress(): string {
    return this.inner.localAddress();
  }
  send(addr: string, bytes: Uint8Array): void {
    this.inner.send(addr, bytes);
  }
  onPacket(handler: (bytes: Uint8Array, from: string) => void): void {
    this.inner.onPacket((bytes, from) => {
      if (this.captured.length < 200) this.captured.push(Buffer.from(bytes));
      handler(bytes, from);
    });
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

async function member(name: string, key: Buffer, i: number, events: MembershipEvent[]): Promise<{ m: Membership; tap: TappedTransport }> {
  const tap = new TappedTransport(await UdpTransport.bind({ host: '127.0.0.1', port: 0 }));
  const m = new Membership({ name, transport: tap, gossipKey: key, tags: { name }, timings: FAST, random: new Prng(seed + i) });
  m.on((e) => events.push(e));
  closers.push(() => m.close());
  return { m, tap };
}

const packet = (env: Envelope, messages: GossipMessage[]): Buffer => env.seal(joinFrames(messages.map(encodeFrame)));

describe('gossip over real UDP under hostile packets', () => {
  it('drops malformed, oversized, wrong-key, plain and spoofed packets; replays change nothing', async () => {
    onTestFailed(() => console.error(`gossip-udp seed=${seed}`));
    const key = randomBytes(32);
    const eventsA: MembershipEvent[] = [];
    const eventsB: MembershipEvent[] = [];
    const a = await member('a', key, 0, eventsA);
    const b = await member('b', key, 1, eventsB);
    const seeds = [a.m.localMember().addr];
    await Promise.all([a.m.join(seeds), b.m.join(seeds)]);
    const aliveAt = (m: Membership, n: number): boolean => m.members().filter((x) => x.state === 'alive').length === n;
    await until(() => aliveAt(a.m, 2) && aliveAt(b.m, 2) && b.tap.captured.length >= 20, 'a and b alive, traffic captured');

    const attacker = createSocket('udp4');
    closers.push(() => new Promise<void>((r) => attacker.close(() => r())));
    await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', () => r()));
    const target = b.m.localMember().addr;
    const [host, port] = target.split(':');
    const send = (bytes: Buffer): Promise<void> => new Promise((r) => attacker.send(bytes, Number(port), host, () => r()));
    const before = b.m.stats();
    const incarnationA = b.m.members().find((x) => x.name === 'a')?.incarnation ?? 0;
    const lies: GossipMessage[] = [
      { type: 'dead', name: 'a', incarnation: incarnationA + 5, from: 'a' },
      { type: 'alive', name: 'intruder', addr: '127.0.0.1:1', incarnation: 1, tags: { name: 'intruder' } },
      { type: 'left', name: 'a', incarnation: incarnationA + 5 },
    ];

    const rng = new Prng(seed);
    await send(Buffer.alloc(0));
    await send(Buffer.of(0x07, 1, 2, 3));
    for (let i = 0; i < 50; i++) await send(Buffer.from(Array.from({ length: 1 + rng.int(1200) }, () => rng.int(256))));
    await send(Buffer.alloc(9000, 2)); // oversized
    await send(packet(new Envelope(randomBytes(32)), lies)); // spoofed, wrong key
    await send(packet(new Envelope(), lies)); // spoofed, no encryption
    const sealed = packet(new Envelope(key), lies);
    sealed[20] = (sealed[20] ?? 0) ^ 1;
    await send(sealed); // spoofed, tampered
    for (const p of b.tap.captured.slice(0, 100)) await send(p); // authentic, replayed

    await until(() => b.m.stats().droppedDecrypt - before.droppedDecrypt >= 3, 'the forged packets to be counted');
    const after = b.m.stats();
    expect(after.droppedOversize - before.droppedOversize).toBeGreaterThanOrEqual(1);
    expect(after.droppedMalformed - before.droppedMalformed).toBeGreaterThanOrEqual(1);

    // Nothing changed: no intruder, a is alive everywhere, no events beyond the joins.
    const c = await member('c', key, 2, []);
    await c.m.join(seeds);
    await until(() => [a.m, b.m, c.m].every((m) => aliveAt(m, 3)), 'c joins; everyone alive');
    for (const m of [a.m, b.m, c.m]) expect(m.members().map((x) => x.name).sort()).toEqual(['a', 'b', 'c']);
    expect(eventsB.filter((e) => e.type !== 'join')).toEqual([]);
    expect(eventsA.filter((e) => e.type !== 'join')).toEqual([]);
  }, 30_000);
});
