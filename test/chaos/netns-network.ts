/**
 * The test network as root: each node in its own network namespace behind a bridge (the
 * deployment lab of test/deploy/netns-lab.ts, with its blackhole route for the subnet in the root
 * namespace), plus a `ctl` host for the runner's probe that is never faulted.
 *
 * Faults, all inside the lab's namespaces: cut = a `blackhole` (silent drop) or `prohibit`
 * (immediate reject) route for the peer's address in the sender's namespace; isolate = the
 * node's switch port down; loss = an nftables `numgen random` drop rule in the sender's namespace
 * (only when the `nft` binary is installed: Debian package nftables). No `tc netem` on this
 * kernel, so no delay.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Prng } from '../../src/util/prng.js';
import { NetnsLab, labUnavailableReason, type LabHost } from '../deploy/netns-lab.js';
import type { AgentSpec } from './agent-processes.js';
import type { NetFault, TestNetwork } from './nemesis.js';

const rpcPort = 7400;
const gossipPort = 7401;
const nftTable = 'chaos';

export function netnsUnavailableReason(): string | undefined {
  return labUnavailableReason();
}

export function nftAvailable(): boolean {
  return ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'].some((p) => existsSync(p));
}

function run(argv: readonly string[], input?: string): void {
  execFileSync(argv[0]!, argv.slice(1), { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 10_000 });
}

export class NetnsNetwork implements TestNetwork {
  readonly kind = 'netns';
  readonly supports: ReadonlySet<NetFault>;
  readonly agents: AgentSpec[];
  /** Undo steps by key, so that repeating a fault does not repeat its undo. */
  private readonly undo = new Map<string, () => void>();
  private closed = false;

  private constructor(
    private readonly lab: NetnsLab,
    names: readonly string[],
    private readonly rng: Prng,
  ) {
    this.supports = new Set<NetFault>(nftAvailable() ? ['cut', 'isolate', 'loss'] : ['cut', 'isolate']);
    this.agents = names.map((name) => {
      const h = lab.host(name);
      return { name, bindHost: h.ip, advertiseHost: h.ip, rpcPort, gossipPort, wrap: ['ip', 'netns', 'exec', h.ns] };
    });
  }

  static create(names: readonly string[], rng: Prng): NetnsNetwork {
    const lab = NetnsLab.create([...names, 'ctl'].map((name) => ({ name })));
    return new NetnsNetwork(lab, names, rng);
  }

  clientWrap(node: string): string[] {
    return ['ip', 'netns', 'exec', this.lab.host(node).ns];
  }

  async cut(from: string, to: string): Promise<void> {
    const ns = this.lab.host(from).ns;
    const dst = `${this.lab.host(to).ip}/32`;
    const type = this.rng.chance(0.5) ? 'blackhole' : 'prohibit';
    run(['ip', '-n', ns, 'route', 'replace', type, dst]);
    this.undo.set(`route ${ns} ${dst}`, () => run(['ip', '-n', ns, 'route', 'del', dst]));
    await Promise.resolve();
  }

  async isolate(node: string): Promise<void> {
    const { sw, port } = this.switchPort(this.lab.host(node));
    run(['ip', '-n', sw, 'link', 'set', port, 'down']);
    this.undo.set(`link ${sw} ${port}`, () => run(['ip', '-n', sw, 'link', 'set', port, 'up']));
    await Promise.resolve();
  }

  async loss(from: string, to: string, percent: number): Promise<void> {
    if (!this.supports.has('loss')) throw new Error('random loss needs nftables (the nft binary)');
    const ns = this.lab.host(from).ns;
    const dst = this.lab.host(to).ip;
    const rules = [
      `add table inet ${nftTable}`,
      `add chain inet ${nftTable} out { type filter hook output priority 0 ; }`,
      `add rule inet ${nftTable} out ip daddr ${dst} numgen random mod 100 < ${percent} drop`,
      '',
    ].join('\n');
    run(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], rules);
    this.undo.set(`nft ${ns}`, () => run(['ip', 'netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', nftTable]));
    await Promise.resolve();
  }

  delay(): Promise<void> {
    return Promise.reject(new Error('no delay in the netns network (the kernel has no netem)'));
  }

  reset(): Promise<void> {
    return Promise.reject(new Error('no reset in the netns network'));
  }

  /** Undoes every fault, newest first; errors (a table already gone) are collected and thrown. */
  async healAll(): Promise<void> {
    const errors: string[] = [];
    const steps = [...this.undo.values()].reverse();
    this.undo.clear();
    for (const step of steps) {
      try {
        step();
      } catch (err) {
        errors.push(err instanceof Error ? err.message.split('\n')[0]! : String(err));
      }
    }
    await Promise.resolve();
    if (errors.length > 0) throw new Error(`healing the network failed: ${errors.join('; ')}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.healAll();
    } finally {
      await this.lab.stopProcesses(1000);
      this.lab.destroy();
    }
  }

  private switchPort(h: LabHost): { sw: string; port: string } {
    const m = /^(.*)-h(\d+)$/.exec(h.ns);
    if (!m) throw new Error(`unexpected lab namespace ${h.ns}`);
    return { sw: `${m[1]}-sw`, port: `p${m[2]}` };
  }
}
