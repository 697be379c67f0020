/**
 * A seeded cluster of Memberships on a simulated network and a manual clock. Every failure
 * message carries the seed; replay with the same seed to get the same run.
 */
import { ManualClock, Membership, SimNetwork, type Member, type MembershipEvent, type MembershipTimings } from '../../src/membership/index.js';
import { Prng } from '../../src/util/prng.js';

export interface SimNode {
  name: string;
  addr: string;
  m: Membership;
  events: MembershipEvent[];
}

export interface AddOptions {
  gossipKey?: Uint8Array | string;
  tags?: Record<string, string>;
  resolver?: (host: string) => Promise<string[]>;
}

export const TEST_TIMINGS: Partial<MembershipTimings> = {
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  gossipIntervalMs: 200,
  pushPullIntervalMs: 30_000,
  joinRetryInitialMs: 500,
  joinRetryMaxMs: 4000,
};

export const PERIOD_MS = 1000;

export const identityResolver = (host: string): Promise<string[]> => Promise.resolve([host]);

export function addrOf(name: string): string {
  return `${name}:7946`;
}

/** Lets pending promise continuations run (no time passes on any clock). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class SimCluster {
  readonly clock = new ManualClock();
  readonly rng: Prng;
  readonly net: SimNetwork;
  readonly nodes = new Map<string, SimNode>();

  constructor(
    readonly seed: number,
    lossRate = 0,
    private readonly timings: Partial<MembershipTimings> = TEST_TIMINGS,
  ) {
    this.rng = new Prng(seed);
    this.net = new SimNetwork(this.clock, this.rng.fork(), { lossRate, minDelayMs: 1, maxDelayMs: 20 });
  }

  add(name: string, opts: AddOptions = {}): SimNode {
    const addr = addrOf(name);
    const m = new Membership({
      name,
      transport: this.net.bind(addr),
      clock: this.clock,
      random: this.rng.fork(),
      resolver: opts.resolver ?? identityResolver,
      tags: opts.tags ?? { name, rpcAddr: `${name}:9000` },
      timings: this.timings,
      ...(opts.gossipKey === undefined ? {} : { gossipKey: opts.gossipKey }),
    });
    const node: SimNode = { name, addr, m, events: [] };
    this.stopped.delete(name);
    m.on((e) => node.events.push(e));
    this.nodes.set(name, node);
    m.start();
    return node;
  }

  node(name: string): SimNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** Starts n nodes n1..n{count}, all joining through n1; resolves once all joins did. */
  async startJoined(count: number, opts: AddOptions = {}): Promise<void> {
    const joins: Promise<void>[] = [];
    for (let i = 1; i <= count; i++) joins.push(this.add(`n${i}`, opts).m.join([addrOf('n1')]));
    let done = false;
    const all = Promise.all(joins).then(() => (done = true));
    await this.runUntil(() => done, 60 * PERIOD_MS, 'all joins to resolve');
    await all;
  }

  /** Advances the clock in steps, letting promises settle between steps. */
  async run(ms: number, stepMs = 100): Promise<void> {
    for (let t = 0; t < ms; t += stepMs) {
      this.clock.advance(Math.min(stepMs, ms - t));
      await flush();
    }
  }

  /** Runs until `pred` holds; returns the simulated time it took; throws (with the seed) past maxMs. */
  async runUntil(pred: () => boolean, maxMs: number, what: string, stepMs = 100): Promise<number> {
    const start = this.clock.now();
    while (!pred()) {
      if (this.clock.now() - start >= maxMs) throw new Error(`seed ${this.seed}: no ${what} within ${maxMs} ms`);
      await this.run(stepMs, stepMs);
    }
    return this.clock.now() - start;
  }

  /** What `observer` believes about `subject`. */
  view(observer: string, subject: string): Member | undefined {
    return this.node(observer).m.members().find((x) => x.name === subject);
  }

  /** Live nodes (not closed). */
  running(): SimNode[] {
    return [...this.nodes.values()].filter((n) => !this.stopped.has(n.name));
  }

  private readonly stopped = new Set<string>();

  async stop(name: string): Promise<void> {
    this.stopped.add(name);
    await this.node(name).m.close();
  }

  /** Every running node sees every running node alive. */
  converged(): boolean {
    const live = this.running();
    return live.every((o) => live.every((s) => this.view(o.name, s.name)?.state === 'alive'));
  }

  async closeAll(): Promise<void> {
    for (const n of this.nodes.values()) await n.m.close();
  }
}
