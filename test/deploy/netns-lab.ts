/**
 * A throw-away network of Linux network namespaces, one per "host", for running deployment command
 * lines as they would run in containers: every host gets its own IP on a private /24 (so the same
 * ports do not collide) and `/etc/netns/<ns>/hosts` mapping every host name (so names resolve as in
 * compose or Kubernetes; `ip netns exec` bind-mounts it over /etc/hosts for that process only).
 *
 * Layout: a switch namespace holding a bridge, one veth pair per host (bridge port <-> eth0 of the
 * host). Nothing is created in the root namespace except a blackhole route for the subnet, so no
 * packet for it leaves the machine. destroy() undoes everything in reverse, errors collected; it
 * runs even when creation failed half-way. Needs root and `ip netns`; available() says why not.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const netnsEtc = '/etc/netns';
const prefix = 'rldeploy';

export interface LabHost {
  /** Host name (resolvable inside the lab, e.g. n1 or replog-0.replog-headless.replog.svc). */
  name: string;
  /** More names for the same address. */
  aliases: string[];
  ns: string;
  ip: string;
}

export interface LabProcess {
  host: LabHost;
  child: ChildProcess;
  /** The last lines it printed (bounded). */
  output: string[];
  exited: Promise<number | null>;
}

const outputLinesMax = 200;

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

/** Why the lab cannot run here, or undefined when it can (root, and `ip netns add` works). */
export function labUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const probe = `${prefix}${process.pid}-probe`;
  try {
    ip(['netns', 'add', probe]);
  } catch (err) {
    return `\`ip netns add\` failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  } finally {
    try {
      ip(['netns', 'del', probe]);
    } catch {
      // it was not created
    }
  }
  return undefined;
}

export class NetnsLab {
  readonly hosts: LabHost[] = [];
  private readonly undo: { what: string; run: () => void }[] = [];
  private readonly processes: LabProcess[] = [];
  private destroyed = false;

  private constructor(private readonly id: string) {}

  /** Creates the namespaces for `names` (each entry: a name and its aliases). */
  static create(names: { name: string; aliases?: string[] }[]): NetnsLab {
    removeStaleLabs();
    const lab = new NetnsLab(`${prefix}${process.pid}`);
    try {
      lab.build(names);
    } catch (err) {
      lab.destroy();
      throw err;
    }
    return lab;
  }

  private build(names: { name: string; aliases?: string[] }[]): void {
    const subnet = this.claimSubnet();
    const sw = this.addNamespace(`${this.id}-sw`);
    ip(['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', sw, 'link', 'set', 'br0', 'up']);
    names.forEach((n, i) => {
      const ns = this.addNamespace(`${this.id}-h${i}`);
      const hostIp = `${subnet}.${10 + i}`;
      ip(['-n', sw, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ip(['-n', sw, 'link', 'set', `p${i}`, 'master', 'br0', 'up']);
      ip(['-n', ns, 'addr', 'add', `${hostIp}/24`, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      this.hosts.push({ name: n.name, aliases: n.aliases ?? [], ns, ip: hostIp });
    });
    if (!existsSync(netnsEtc)) {
      mkdirSync(netnsEtc);
      this.undo.push({ what: `rmdir ${netnsEtc}`, run: () => (readdirSync(netnsEtc).length === 0 ? rmdirSync(netnsEtc) : undefined) });
    }
    const hostsFile = ['127.0.0.1 localhost', ...this.hosts.map((h) => `${h.ip} ${[h.name, ...h.aliases].join(' ')}`), ''].join('\n');
    for (const h of this.hosts) {
      const dir = join(netnsEtc, h.ns);
      mkdirSync(dir, { recursive: true });
      this.undo.push({ what: `rm ${dir}`, run: () => rmSync(dir, { recursive: true, force: true }) });
      writeFileSync(join(dir, 'hosts'), hostsFile);
    }
  }

  /** A /24 under 10.213.0.0/16 with our blackhole route on it (a taken one is skipped). */
  private claimSubnet(): string {
    const start = process.pid % 250;
    for (let k = 0; k < 250; k++) {
      const subnet = `10.213.${(start + k) % 250}`;
      try {
        ip(['route', 'add', 'blackhole', `${subnet}.0/24`]);
      } catch {
        continue; // route exists: another lab (or something else) uses it
      }
      this.undo.push({ what: `blackhole ${subnet}.0/24`, run: () => void ip(['route', 'del', 'blackhole', `${subnet}.0/24`]) });
      return subnet;
    }
    throw new Error('no free 10.213.x.0/24 subnet for the lab');
  }

  private addNamespace(ns: string): string {
    ip(['netns', 'add', ns]);
    this.undo.push({ what: `netns ${ns}`, run: () => void ip(['netns', 'del', ns]) });
    return ns;
  }

  host(name: string): LabHost {
    const h = this.hosts.find((x) => x.name === name || x.aliases.includes(name));
    if (!h) throw new Error(`no lab host ${name}`);
    return h;
  }

  /** Starts `argv` (`node` = this node binary) inside a host's namespace; tracked for destroy(). */
  spawn(hostName: string, argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): LabProcess {
    const host = this.host(hostName);
    const [file, ...args] = argv;
    const bin = file === 'node' ? process.execPath : (file ?? '');
    // `ip netns exec` execs the command in place: the child's pid is the command's own.
    const child = spawn('ip', ['netns', 'exec', host.ns, bin, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        output.push(...chunk.split('\n').filter((l) => l.length > 0));
        if (output.length > outputLinesMax) output.splice(0, output.length - outputLinesMax);
      });
    }
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const proc = { host, child, output, exited };
    this.processes.push(proc);
    return proc;
  }

  /** Runs a command in a host's namespace to completion (killed after timeoutMs). */
  async run(hostName: string, argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string, timeoutMs: number): Promise<{ code: number | null; output: string }> {
    const proc = this.spawn(hostName, argv, env, cwd);
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
    timer.unref();
    const code = await proc.exited;
    clearTimeout(timer);
    this.processes.splice(this.processes.indexOf(proc), 1);
    return { code, output: proc.output.join('\n') };
  }

  /** SIGTERM to every process we started that still runs; SIGKILL after graceMs. */
  async stopProcesses(graceMs: number): Promise<void> {
    await Promise.all(
      this.processes.splice(0).map(async (p) => {
        if (p.child.exitCode !== null || p.child.signalCode !== null) return;
        p.child.kill('SIGTERM');
        const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
        timer.unref();
        await p.exited;
        clearTimeout(timer);
      }),
    );
  }

  /** Removes every namespace, file and route the lab made (processes must be stopped first). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const p of this.processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    const errors: string[] = [];
    for (const step of this.undo.splice(0).reverse()) {
      try {
        step.run();
      } catch (err) {
        errors.push(`${step.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (errors.length > 0) throw new Error(`lab teardown left: ${errors.join('; ')}`);
  }
}

/** Namespaces (and their /etc/netns dirs) left by a lab whose test process no longer exists. */
function removeStaleLabs(): void {
  const stale = new Set<string>();
  for (const line of ip(['netns', 'list']).split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${prefix}(\\d+)-`).exec(ns);
    if (m?.[1] && !isAlive(Number(m[1]))) stale.add(ns);
  }
  for (const ns of stale) {
    try {
      ip(['netns', 'del', ns]);
    } catch {
      // already gone
    }
  }
  for (const dir of safeReaddir(netnsEtc)) {
    const m = new RegExp(`^${prefix}(\\d+)-`).exec(dir);
    if (m?.[1] && !isAlive(Number(m[1]))) rmSync(join(netnsEtc, dir), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
