/**
 * N replog agents as child processes on 127.0.0.1 (for development, tests and benchmarks): the
 * process manager behind `replog cluster` and `replog bench --local-cluster`. Each node gets its
 * own data dir and ports; every node starts with --bootstrap-expect N and the others' gossip
 * addresses, so a fresh directory forms a cluster and a used one resumes it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogApiClient } from '../client/log-client.js';
import type { ServerInfo } from '../replicated-log.js';
import { withMallocTunables } from './malloc-tunables.js';

export interface LocalNode {
  name: string;
  dataDir: string;
  rpcAddr: string;
  gossipAddr: string;
  metricsAddr: string;
  process: ChildProcess | undefined;
  exitCode: number | null;
  /** Started with --bootstrap-expect (a founding member) or only to join. */
  founding: boolean;
  extraArgs: string[];
}

export interface LocalClusterOptions {
  nodes: number;
  dataDir: string;
  /** First port (rpc = base + 10i, gossip + 1, metrics + 2); 0 picks free ports. */
  basePort: number;
  /** Extra agent flags for every node. */
  agentArgs?: string[];
  /** Receives every line a node prints (stdout and stderr). */
  onLine?: (node: LocalNode, line: string) => void;
  /** Called when a node exits on its own (not through stop()). */
  onExit?: (node: LocalNode, code: number | null, signal: NodeJS.Signals | null) => void;
}

/** How to run the CLI in a child: the compiled entry when running compiled, tsx from sources. */
function agentCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return ['--import', 'tsx', join(here, '..', 'run.ts')];
  return [join(here, '..', 'run.js')];
}

export class LocalCluster {
  readonly nodes: LocalNode[] = [];
  private stopping = false;

  private constructor(private readonly opts: LocalClusterOptions) {}

  static async start(opts: LocalClusterOptions): Promise<LocalCluster> {
    const cluster = new LocalCluster(opts);
    const ports = opts.basePort === 0 ? await freePorts(opts.nodes * 3) : undefined;
    for (let i = 0; i < opts.nodes; i++) {
      const port = (k: number): number => ports?.[i * 3 + k] ?? opts.basePort + i * 10 + k;
      cluster.nodes.push({
        name: `n${i + 1}`,
        dataDir: join(opts.dataDir, `n${i + 1}`),
        rpcAddr: `127.0.0.1:${port(0)}`,
        gossipAddr: `127.0.0.1:${port(1)}`,
        metricsAddr: `127.0.0.1:${port(2)}`,
        process: undefined,
        exitCode: null,
        founding: true,
        extraArgs: [],
      });
    }
    for (const node of cluster.nodes) cluster.spawnNode(node);
    return cluster;
  }

  /** Starts one more node that joins through gossip (no bootstrap flags). */
  async addNode(name: string, extraArgs: string[] = []): Promise<LocalNode> {
    const [rpc, gossip, metrics] = await freePorts(3);
    const node: LocalNode = {
      name,
      dataDir: join(this.opts.dataDir, name),
      rpcAddr: `127.0.0.1:${rpc}`,
      gossipAddr: `127.0.0.1:${gossip}`,
      metricsAddr: `127.0.0.1:${metrics}`,
      process: undefined,
      exitCode: null,
      founding: false,
      extraArgs,
    };
    this.nodes.push(node);
    this.spawnNode(node);
    return node;
  }

  private spawnNode(node: LocalNode): void {
    const founders = this.nodes.filter((n) => n.founding);
    const seeds = this.nodes.map((n) => n.gossipAddr).join(',');
    const args = [
      ...agentCommand(),
      'agent',
      '--node-name', node.name,
      '--data-dir', node.dataDir,
      '--bind-addr', node.gossipAddr,
      '--rpc-port', node.rpcAddr.split(':')[1] ?? '0',
      '--metrics-addr', node.metricsAddr,
      ...(node.founding ? ['--bootstrap-expect', String(founders.length)] : []),
      '--start-join-addrs', seeds,
      ...(this.opts.agentArgs ?? []),
      ...node.extraArgs,
    ];
    // Own process group: a terminal's Ctrl-C reaches only `replog cluster`, which then stops
    // every node with one SIGTERM (a second signal would make a node exit uncleanly).
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: withMallocTunables(process.env) });
    node.process = child;
    node.exitCode = null;
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream.on('data', (chunk: Buffer) => {
        const text = rest + chunk.toString('utf8');
        const lines = text.split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) if (line.length > 0) this.opts.onLine?.(node, line);
      });
    }
    child.once('exit', (code, signal) => {
      node.exitCode = code ?? (signal ? 128 : null);
      if (node.process === child) node.process = undefined;
      if (!this.stopping) this.opts.onExit?.(node, code, signal);
    });
  }

  /** Restarts a stopped node with the same data dir and ports (optionally other extra flags). */
  restart(name: string, extraArgs?: string[]): void {
    const node = this.node(name);
    if (node.process) throw new Error(`${name} is running`);
    if (extraArgs) node.extraArgs = extraArgs;
    this.spawnNode(node);
  }

  /** Sends `signal` to a node (e.g. SIGKILL to crash it) and waits for it to exit. */
  async signal(name: string, signal: NodeJS.Signals): Promise<void> {
    const node = this.node(name);
    const child = node.process;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    await exited;
  }

  node(name: string): LocalNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  /** The cluster as the running nodes report it, once a leader and at least `members` (default N) are known. */
  async waitForLeader(timeoutMs: number, members = this.nodes.length): Promise<ServerInfo[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const node of this.nodes) {
        if (!node.process) continue;
        const client = new LogApiClient({ addr: node.rpcAddr, callTimeoutMs: 1000 });
        try {
          const servers = await client.servers(1000);
          if (servers.length >= members && servers.some((s) => s.isLeader)) return servers;
        } catch {
          // not up yet
        } finally {
          client.close();
        }
      }
      if (Date.now() > deadline) throw new Error(`no leader among ${this.nodes.length} nodes within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** SIGTERM to every node (a clean stop), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.nodes.map(async (node) => {
        const child = node.process;
        if (!child) return;
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

/** `count` distinct free ports, each free for TCP and UDP on 127.0.0.1 when checked. */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const sock = createSocket('udp4');
      sock.once('error', () => resolve(false));
      sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
    });
    if (udpFree && !ports.includes(port)) ports.push(port);
  }
  return ports;
}
