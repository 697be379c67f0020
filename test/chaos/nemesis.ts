/**
 * The network half of the nemesis: one interface, two implementations (network namespaces as
 * root, a fault-injecting proxy on loopback otherwise). Links are directed: `cut(a, b)` stops
 * what a sends to b. Every fault is undone by healAll(); close() also removes what the network
 * itself created. Process faults (kill -9, SIGSTOP) live in agent-processes.ts.
 */
import type { AgentSpec } from './agent-processes.js';

export type NetFault = 'cut' | 'isolate' | 'loss' | 'delay' | 'reset';

export interface TestNetwork {
  readonly kind: 'netns' | 'proxy';
  /** Faults this network can inject (random loss needs nftables; delay and reset need the proxy). */
  readonly supports: ReadonlySet<NetFault>;
  /** How each agent binds, advertises and is started. */
  readonly agents: readonly AgentSpec[];
  /** Command prefix that runs a client process next to `node` (`ctl`: a host never faulted). */
  clientWrap(node: string): string[];
  /** Drop everything `from` sends to `to`. */
  cut(from: string, to: string): Promise<void>;
  /** Disconnect `node` from everyone (the switch port down, or every link cut). */
  isolate(node: string): Promise<void>;
  /** Drop `percent`% of the packets `from` sends to `to`. */
  loss(from: string, to: string, percent: number): Promise<void>;
  /** Delay whole chunks `from` sends to `to` by `ms`. */
  delay(from: string, to: string, ms: number): Promise<void>;
  /** Reset the connections `from` opened to `to` (once). */
  reset(from: string, to: string): Promise<void>;
  healAll(): Promise<void>;
  /** Heals and removes everything the network created. Idempotent. */
  close(): Promise<void>;
}
