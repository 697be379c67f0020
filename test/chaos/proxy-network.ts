/**
 * The test network without root: every node binds one loopback address (127.77.1.N) and
 * advertises another (127.77.2.N) where a proxy in this process listens on the same ports and
 * forwards to the node, so all peer and client traffic passes through it. The proxy learns who
 * sent a connection from the Raft hello frame (`"from":"n2/..."`; anything else is a client) and
 * who sent a gossip packet from its source address (each node's gossip socket is bound).
 *
 * Faults: cut (TCP chunks and UDP packets of the link are dropped; connections that lost bytes
 * are reset when the link heals, as a broken stream must be), delay (whole chunks held back,
 * order kept), reset (the link's connections destroyed once), loss (UDP packets only: dropping
 * part of a TCP stream would corrupt it rather than delay it).
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import net from 'node:net';
import type { Prng } from '../../src/util/prng.js';
import type { AgentSpec } from './agent-processes.js';
import type { NetFault, TestNetwork } from './nemesis.js';

const CLIENT = 'client';
const sniffBytesMax = 4096;

interface Link {
  cut: boolean;
  delayMs: number;
  lossPercent: number;
}

interface Conn {
  from: string;
  to: string;
  down: net.Socket;
  up: net.Socket | undefined;
  /** Bytes were dropped: the stream is broken and must be reset on heal. */
  broken: boolean;
}

export class ProxyNetwork implements TestNetwork {
  readonly kind = 'proxy';
  readonly supports: ReadonlySet<NetFault> = new Set<NetFault>(['cut', 'isolate', 'delay', 'reset', 'loss']);
  private readonly links = new Map<string, Link>();
  private readonly conns = new Set<Conn>();
  private readonly servers: net.Server[] = [];
  private readonly udp: UdpSocket[] = [];
  private closed = false;

  private constructor(
    readonly agents: AgentSpec[],
    private readonly rng: Prng,
  ) {}

  static async create(names: readonly string[], rng: Prng): Promise<ProxyNetwork> {
    const agents: AgentSpec[] = [];
    for (const [i, name] of names.entries()) {
      const bindHost = `127.77.1.${i + 1}`;
      const advertiseHost = `127.77.2.${i + 1}`;
      const [rpcPort, gossipPort] = await freePorts([bindHost, advertiseHost], 2);
      agents.push({ name, bindHost, advertiseHost, rpcPort: rpcPort!, gossipPort: gossipPort!, wrap: [] });
    }
    const netw = new ProxyNetwork(agents, rng);
    try {
      for (const a of agents) await netw.listen(a);
    } catch (err) {
      await netw.close();
      throw err;
    }
    return netw;
  }

  clientWrap(): string[] {
    return [];
  }

  async cut(from: string, to: string): Promise<void> {
    this.link(from, to).cut = true;
    for (const c of this.conns) if (c.from === from && c.to === to) c.broken = true;
    await Promise.resolve();
  }

  async isolate(node: string): Promise<void> {
    for (const a of this.agents) {
      if (a.name === node) continue;
      await this.cut(node, a.name);
      await this.cut(a.name, node);
    }
    await this.cut(CLIENT, node);
  }

  async loss(from: string, to: string, percent: number): Promise<void> {
    this.link(from, to).lossPercent = percent;
    await Promise.resolve();
  }

  async delay(from: string, to: string, ms: number): Promise<void> {
    this.link(from, to).delayMs = ms;
    await Promise.resolve();
  }

  async reset(from: string, to: string): Promise<void> {
    for (const c of [...this.conns]) if (c.from === from && c.to === to) this.drop(c);
    await Promise.resolve();
  }

  async healAll(): Promise<void> {
    this.links.clear();
    for (const c of [...this.conns]) if (c.broken) this.drop(c);
    await Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.links.clear();
    for (const c of [...this.conns]) this.drop(c);
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const s of this.udp) s.close();
  }

  private link(from: string, to: string): Link {
    const key = `${from}>${to}`;
    let l = this.links.get(key);
    if (!l) {
      l = { cut: false, delayMs: 0, lossPercent: 0 };
      this.links.set(key, l);
    }
    return l;
  }

  private peek(from: string, to: string): Link | undefined {
    return this.links.get(`${from}>${to}`);
  }

  private drop(c: Conn): void {
    if (!this.conns.delete(c)) return;
    for (const s of [c.down, c.up]) if (s && !s.destroyed) s.resetAndDestroy();
  }

  private async listen(a: AgentSpec): Promise<void> {
    const server = net.createServer((sock) => this.accept(a, sock));
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(a.rpcPort, a.advertiseHost, () => resolve());
    });
    await this.listenUdp(a);
  }

  /** Sniffs the sender, then connects to the node and forwards both ways through the link rules. */
  private accept(a: AgentSpec, down: net.Socket): void {
    down.on('error', () => undefined);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const from = senderOf(head);
      if (from === undefined && head.length < sniffBytesMax) return;
      down.off('data', onData);
      this.open(a, down, from ?? CLIENT, head);
    };
    down.on('data', onData);
  }

  private open(a: AgentSpec, down: net.Socket, from: string, head: Buffer): void {
    const c: Conn = { from, to: a.name, down, up: undefined, broken: false };
    this.conns.add(c);
    down.once('close', () => this.drop(c));
    if (this.peek(from, a.name)?.cut) {
      c.broken = true; // held silent until the link heals, then reset
      return;
    }
    const up = net.connect({ host: a.bindHost, port: a.rpcPort });
    c.up = up;
    up.on('error', () => undefined);
    up.once('close', () => this.drop(c));
    this.forward(c, head, from, a.name, up);
    down.on('data', (chunk: Buffer) => this.forward(c, chunk, from, a.name, up));
    up.on('data', (chunk: Buffer) => this.forward(c, chunk, a.name, from, down));
  }

  /** Writes a chunk unless the link is cut; delayed chunks keep their order (one chain per direction). */
  private forward(c: Conn, chunk: Buffer, from: string, to: string, out: net.Socket): void {
    const link = this.peek(from, to);
    if (link?.cut) {
      c.broken = true;
      return;
    }
    const delayMs = link?.delayMs ?? 0;
    if (delayMs === 0) {
      out.write(chunk);
      return;
    }
    // Delay whole chunks; pause reading meanwhile so the order holds without a queue.
    const src = out === c.up ? c.down : c.up;
    src?.pause();
    setTimeout(() => {
      if (!out.destroyed) out.write(chunk);
      src?.resume();
    }, delayMs).unref();
  }

  private async listenUdp(a: AgentSpec): Promise<void> {
    const sock = createSocket('udp4');
    this.udp.push(sock);
    const relays = new Map<string, UdpSocket>();
    sock.on('message', (msg, rinfo) => {
      const from = this.nodeAt(rinfo);
      if (this.dropped(from, a.name)) return;
      const key = `${rinfo.address}:${rinfo.port}`;
      let relay = relays.get(key);
      if (!relay) {
        relay = createSocket('udp4');
        this.udp.push(relay);
        relays.set(key, relay);
        relay.bind(0, a.advertiseHost);
        relay.on('message', (back) => {
          if (!this.dropped(a.name, from) && !this.closed) sock.send(back, rinfo.port, rinfo.address);
        });
      }
      relay.send(msg, a.gossipPort, a.bindHost);
    });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(a.gossipPort, a.advertiseHost, () => resolve());
    });
  }

  private dropped(from: string, to: string): boolean {
    const link = this.peek(from, to);
    if (!link) return false;
    return link.cut || (link.lossPercent > 0 && this.rng.int(100) < link.lossPercent);
  }

  private nodeAt(rinfo: RemoteInfo): string {
    return this.agents.find((x) => x.bindHost === rinfo.address && x.gossipPort === rinfo.port)?.name ?? CLIENT;
  }
}

/** The node name in a Raft connection's hello (0x01, u32 length, JSON), or undefined (need more / not Raft). */
export function senderOf(head: Buffer): string | undefined {
  if (head.length === 0) return undefined;
  if (head[0] !== 0x01) return CLIENT;
  if (head.length < 5) return undefined;
  const length = head.readUInt32BE(1);
  if (head.length < 5 + length) return undefined;
  const m = /"from":"([^"/]+)/.exec(head.subarray(5, 5 + length).toString('utf8'));
  return m?.[1] ?? CLIENT;
}

/** `count` ports free for TCP and UDP on every host. */
async function freePorts(hosts: readonly string[], count: number): Promise<number[]> {
  const out: number[] = [];
  for (let tries = 0; out.length < count && tries < 100; tries++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, hosts[0], () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (out.includes(port)) continue;
    const free = await Promise.all(hosts.flatMap((h) => [tcpFree(h, port), udpFree(h, port)]));
    if (free.every(Boolean)) out.push(port);
  }
  if (out.length < count) throw new Error(`no ${count} free ports on ${hosts.join(', ')}`);
  return out;
}

function tcpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}
