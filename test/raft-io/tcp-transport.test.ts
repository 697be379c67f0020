import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessage } from '../../src/raft/codec.js';
import type { Message } from '../../src/raft/core/types.js';
import type { PeerFrame } from '../../src/raft/peer-frames.js';
import { splitHostPort } from '../../src/config.js';
import { RAFT_MUX_BYTE, TcpTransport } from '../../src/raft/tcp-transport.js';
import { until } from './harness.js';

/** A stand-in for the mux: reads the first byte and hands Raft connections to the transport. */
async function listen(transport: TcpTransport): Promise<{ addr: string; server: net.Server }> {
  const server = net.createServer((sock) => {
    sock.once('readable', () => {
      const first = sock.read(1) as Buffer | null;
      if (first?.[0] === RAFT_MUX_BYTE) transport.accept(sock);
      else sock.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { addr: `127.0.0.1:${port}`, server };
}

const hb = (from: string, to: string, term: number): Message => ({ type: 'Heartbeat', from, to, term, commit: 0, readContext: 0 });

describe('TcpTransport', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function pair(clusterB = 'c1') {
    const addrs = new Map<string, string>();
    const a = new TcpTransport({ localId: 'a', clusterId: 'c1', resolve: (id) => addrs.get(id) });
    const b = new TcpTransport({ localId: 'b', clusterId: clusterB, resolve: (id) => addrs.get(id) });
    const la = await listen(a);
    const lb = await listen(b);
    addrs.set('a', la.addr).set('b', lb.addr);
    cleanup.push(() => a.close(), () => b.close(), () => void la.server.close(), () => void lb.server.close());
    return { a, b, la, lb, addrs };
  }

  it('delivers messages in order both ways', async () => {
    const { a, b } = await pair();
    const atB: PeerFrame[] = [];
    const atA: PeerFrame[] = [];
    b.onMessage((m) => atB.push(m));
    a.onMessage((m) => atA.push(m));
    for (let t = 1; t <= 100; t++) a.send(hb('a', 'b', t));
    b.send(hb('b', 'a', 7));
    await until(() => atB.length === 100 && atA.length === 1, 'delivery');
    expect(atB.map((m) => m.term)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(atA[0]).toMatchObject({ type: 'Heartbeat', from: 'b', term: 7 });
  });

  it('refuses a peer from another cluster', async () => {
    const { a, b } = await pair('other');
    const atB: PeerFrame[] = [];
    b.onMessage((m) => atB.push(m));
    a.send(hb('a', 'b', 1));
    await until(() => b.stats.rejectedConnections === 1, 'rejection');
    expect(atB).toEqual([]);
  });

  it('closes a connection whose messages claim another sender', async () => {
    const { b, lb } = await pair();
    const atB: PeerFrame[] = [];
    b.onMessage((m) => atB.push(m));
    const { host, port } = splitHostPort(lb.addr)!;
    const sock = net.connect({ host, port });
    const hello = Buffer.from(JSON.stringify({ v: 1, from: 'a', to: 'b', cluster: 'c1' }));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(hello.length);
    sock.write(Buffer.concat([Buffer.of(RAFT_MUX_BYTE), len, hello, encodeMessage(hb('mallory', 'b', 1))]));
    await new Promise<void>((resolve) => sock.on('close', () => resolve()));
    expect(atB).toEqual([]);
    expect(b.stats.rejectedConnections).toBe(1);
  });

  it('reconnects after the peer restarts', async () => {
    const { a, b, addrs, lb } = await pair();
    const atB: PeerFrame[] = [];
    b.onMessage((m) => atB.push(m));
    a.send(hb('a', 'b', 1));
    await until(() => atB.length === 1, 'first message');
    await b.close();
    await new Promise<void>((r) => lb.server.close(() => r()));
    const b2 = new TcpTransport({ localId: 'b', clusterId: 'c1', resolve: (id) => addrs.get(id) });
    const l2 = await listen(b2);
    cleanup.push(() => b2.close(), () => void l2.server.close());
    addrs.set('b', l2.addr);
    const atB2: PeerFrame[] = [];
    b2.onMessage((m) => atB2.push(m));
    const deadline = Date.now() + 5000;
    while (atB2.length === 0 && Date.now() < deadline) {
      a.send(hb('a', 'b', 2));
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(atB2[0]).toMatchObject({ from: 'a', term: 2 });
  });

  it('drops (and counts) messages for a peer with no address, or port 0', async () => {
    const { a, addrs } = await pair();
    a.send(hb('a', 'nobody', 1));
    await until(() => a.stats.dropped === 1, 'drop');
    addrs.set('zero', '127.0.0.1:0');
    a.send(hb('a', 'zero', 1));
    await until(() => a.stats.dropped === 2, 'drop for port 0');
  });

  it('parses host:port forms', () => {
    expect(splitHostPort('127.0.0.1:80')).toEqual({ host: '127.0.0.1', port: 80 });
    expect(splitHostPort('[::1]:8401')).toEqual({ host: '::1', port: 8401 });
    expect(splitHostPort('node-0.replog:8401')).toEqual({ host: 'node-0.replog', port: 8401 });
    expect(splitHostPort('nope')).toBeNull();
    expect(splitHostPort('h:70000')).toBeNull();
  });
});

describe('TcpTransport with peer mTLS', () => {
  it('delivers between peers with certificates of the peer CA and rejects a peer without one', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { generateCerts, readPem } = await import('../helpers/certs.js');
    const dir = mkdtempSync(join(tmpdir(), 'replog-peer-tls-'));
    try {
      const certs = generateCerts(dir);
      // A peer certificate acts as server and as client: here the two halves come from the test
      // CA's server and client certificates (a real peer certificate carries both key usages).
      const ca = readPem(certs.caCert);
      const peerTls = {
        dial: { ca, cert: readPem(certs.clients.root.cert), key: readPem(certs.clients.root.key), checkServerIdentity: () => undefined },
        accept: { ca, cert: readPem(certs.serverCert), key: readPem(certs.serverKey) },
      };
      const addrs = new Map<string, string>();
      const a = new TcpTransport({ localId: 'a', clusterId: 'c', resolve: (id) => addrs.get(id), tls: peerTls });
      const b = new TcpTransport({ localId: 'b', clusterId: 'c', resolve: (id) => addrs.get(id), tls: peerTls });
      const rogueFiles = { ca: readPem(certs.caCert), cert: readPem(certs.clients.rogue.cert), key: readPem(certs.clients.rogue.key) };
      const rogue = new TcpTransport({ localId: 'a', clusterId: 'c', resolve: (id) => addrs.get(id), tls: { dial: { ...rogueFiles, checkServerIdentity: () => undefined }, accept: rogueFiles } });
      const plain = new TcpTransport({ localId: 'a', clusterId: 'c', resolve: (id) => addrs.get(id) });
      const lb = await listen(b);
      const la = await listen(a);
      addrs.set('b', lb.addr).set('a', la.addr);
      try {
        const atB: PeerFrame[] = [];
        b.onMessage((m) => atB.push(m));
        rogue.send(hb('a', 'b', 1));
        plain.send(hb('a', 'b', 2));
        await until(() => b.stats.rejectedConnections >= 1, 'the rogue and plaintext peers to be refused');
        a.send(hb('a', 'b', 3));
        await until(() => atB.length === 1, 'delivery over mTLS');
        expect(atB.map((m) => m.term)).toEqual([3]);
      } finally {
        for (const t of [a, b, rogue, plain]) await t.close();
        la.server.close();
        lb.server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
