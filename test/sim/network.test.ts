import { describe, expect, it } from 'vitest';
import type { HeartbeatMessage, Message } from '../../src/raft/core/types.js';
import { Prng } from '../../src/util/prng.js';
import { CALM_NETWORK, SimNetwork, type NetworkFaults } from './network.js';

const SEED = 20240501;

function heartbeat(from: string, to: string, term: number): HeartbeatMessage {
  return { type: 'Heartbeat', from: `${from}/a`, to: `${to}/b`, term, commit: 0, readContext: 0 };
}

/** Sends `count` heartbeats n1 -> n2 (term = sequence number) at t=0; returns all deliveries. */
function sendAndDrain(net: SimNetwork, count: number, from = 'n1', to = 'n2'): { delivered: Message[]; dropped: Message[] } {
  for (let i = 1; i <= count; i++) net.send(heartbeat(from, to, i), 0);
  const delivered: Message[] = [];
  const dropped: Message[] = [];
  for (;;) {
    const out = net.popDue(Number.MAX_SAFE_INTEGER);
    if (out === null) break;
    (out.kind === 'deliver' ? delivered : dropped).push(out.msg);
  }
  return { delivered, dropped };
}

function network(faults: Partial<NetworkFaults>): SimNetwork {
  return new SimNetwork(new Prng(SEED), { ...CALM_NETWORK, ...faults }, 10_000);
}

describe(`SimNetwork (seed ${SEED})`, () => {
  it('delivers every message exactly once on a calm network', () => {
    const { delivered } = sendAndDrain(network({}), 200);
    expect(delivered.map((m) => m.term).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('loses messages at the configured rate', () => {
    const net = network({ lossRate: 1 });
    expect(sendAndDrain(net, 100).delivered).toHaveLength(0);
    expect(net.stats.lost).toBe(100);
    const some = network({ lossRate: 0.3 });
    const n = sendAndDrain(some, 1000).delivered.length;
    expect(n).toBeGreaterThan(600);
    expect(n).toBeLessThan(800);
  });

  it('duplicates messages, each copy a separate object', () => {
    const { delivered } = sendAndDrain(network({ dupRate: 1 }), 50);
    expect(delivered).toHaveLength(100);
    for (let t = 1; t <= 50; t++) {
      const copies = delivered.filter((m) => m.term === t);
      expect(copies).toHaveLength(2);
      expect(copies[0]).not.toBe(copies[1]);
      expect(copies[0]).toEqual(copies[1]);
    }
  });

  it('reorders messages when delays vary', () => {
    const { delivered } = sendAndDrain(network({ minDelayMs: 0, maxDelayMs: 30, spikeRate: 0.1, spikeDelayMs: 200 }), 100);
    const terms = delivered.map((m) => m.term);
    expect(terms).toHaveLength(100);
    expect(terms).not.toEqual([...terms].sort((a, b) => a - b));
  });

  it('delivers nothing before its delay has passed', () => {
    const net = network({ minDelayMs: 10, maxDelayMs: 10 });
    net.send(heartbeat('n1', 'n2', 1), 100);
    expect(net.popDue(109)).toBeNull();
    expect(net.popDue(110)?.kind).toBe('deliver');
  });

  it('cuts one direction of a link only (asymmetric partition), then heals', () => {
    const net = network({});
    net.cutLink('n1', 'n2');
    expect(sendAndDrain(net, 10, 'n1', 'n2').dropped).toHaveLength(10);
    expect(sendAndDrain(net, 10, 'n2', 'n1').delivered).toHaveLength(10);
    net.heal();
    expect(sendAndDrain(net, 10, 'n1', 'n2').delivered).toHaveLength(10);
  });

  it('a symmetric partition cuts both directions between the groups and nothing inside them', () => {
    const net = network({});
    net.partition(['n1', 'n2'], ['n3']);
    expect(sendAndDrain(net, 5, 'n1', 'n3').dropped).toHaveLength(5);
    expect(sendAndDrain(net, 5, 'n3', 'n2').dropped).toHaveLength(5);
    expect(sendAndDrain(net, 5, 'n1', 'n2').delivered).toHaveLength(5);
  });

  it('drops messages already in flight when their link is cut before delivery', () => {
    const net = network({ minDelayMs: 5, maxDelayMs: 5 });
    net.send(heartbeat('n1', 'n2', 1), 0);
    net.cutLink('n1', 'n2');
    expect(net.popDue(5)?.kind).toBe('drop');
  });

  it('bounds the messages in flight', () => {
    const net = new SimNetwork(new Prng(SEED), { ...CALM_NETWORK }, 10);
    for (let i = 0; i < 20; i++) net.send(heartbeat('n1', 'n2', i), 0);
    expect(net.inflightCount).toBe(10);
    expect(net.stats.overflow).toBe(10);
  });
});
