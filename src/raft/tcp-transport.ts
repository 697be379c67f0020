/**
 * Raft messages over TCP (optionally mutual TLS), through the node's one port.
 *
 * Each node dials one long-lived outbound connection per peer and sends its messages on it; it
 * receives on the connections its peers dialed. A connection starts with the mux byte 0x01, then
 * (inside TLS when peer TLS is configured) a hello frame naming sender, receiver and cluster,
 * then message frames (src/raft/codec.ts). Every frame's sender must match the hello; a
 * connection that breaks any rule is closed. Sends never block: a message for a peer that is
 * unreachable, unknown or too far behind on its queue is dropped and counted, as Raft allows.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { splitHostPort } from '../config.js';
import { ClosedError, InvalidArgumentError, errorMessage } from '../errors.js';
import { decodeMessage, encodeFrameParts, EntriesEncodingCache } from './codec.js';
import type { NodeId } from './core/types.js';
import type { PeerFrame } from './peer-frames.js';
import { FrameDecoder } from './frame-decoder.js';
import { totalLength } from '../util/bytes.js';
import type { MessageHandler, RaftTransport } from './transport.js';

/** The first byte of a Raft connection on the shared port (ARCHITECTURE 5). */
export const RAFT_MUX_BYTE = 0x01;
const HELLO_VERSION = 1;

export interface PeerTlsOptions {
  /** Options for dialing: ca, cert, key, servername (checked against the peer's certificate). */
  dial: tls.ConnectionOptions;
  /** Secure context for accepted connections (ca, cert, key); client certificates are required. */
  accept: tls.SecureContextOptions;
}

export interface TcpTransportOptions {
  localId: NodeId;
  /** Identifies the cluster; connections from another cluster are refused. */
  clusterId: string;
  /** Current `host:port` of a peer's mux, or undefined when unknown. */
  resolve: (peer: NodeId) => string | undefined;
  tls?: PeerTlsOptions;
  logger?: Logger;
  /** Bytes queued per peer while (re)connecting or while the socket is congested. */
  maxQueueBytes?: number;
  maxFrameBytes?: number;
  dialTimeoutMs?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
}

export interface TransportStats {
  sent: number;
  received: number;
  dropped: number;
  rejectedConnections: number;
}

interface Hello {
  v: number;
  from: NodeId;
  to: NodeId;
  cluster: string;
}

export class TcpTransport implements RaftTransport {
  private handler: MessageHandler = () => undefined;
  private readonly peers = new Map<NodeId, OutboundPeer>();
  /** The same AppendEntries to several followers: their entries are encoded once. */
  private readonly entriesCache = new EntriesEncodingCache();
  private readonly inbound = new Set<Duplex>();
  private closed = false;
  private readonly log: Logger;
  readonly stats: TransportStats = { sent: 0, received: 0, dropped: 0, rejectedConnections: 0 };
  private readonly maxFrameBytes: number;

  private readonly tlsServer: tls.Server | undefined;

  constructor(private readonly opts: TcpTransportOptions) {
    this.log = (opts.logger ?? silentLogger()).child({ component: 'raft-transport' });
    this.maxFrameBytes = opts.maxFrameBytes ?? 64 * 1024 * 1024;
    if (opts.tls) {
      this.tlsServer = tls.createServer({ ...opts.tls.accept, requestCert: true, rejectUnauthorized: true, handshakeTimeout: 10_000 }, (sock) =>
        this.serve(sock, sock.remoteAddress),
      );
      this.tlsServer.on('tlsClientError', (err, sock) => {
        this.stats.rejectedConnections++;
        this.log.warn({ remote: sock.remoteAddress, why: err.message }, 'refused a peer connection: TLS handshake failed');
        sock.destroy();
      });
    }
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  send(msg: PeerFrame): void {
    if (this.closed) return;
    let peer = this.peers.get(msg.to);
    if (!peer) {
      peer = new OutboundPeer(msg.to, this.opts, this.log, this.stats);
      this.peers.set(msg.to, peer);
    }
    peer.enqueue(encodeFrameParts(msg, this.entriesCache));
  }

  disconnect(peer: NodeId): void {
    this.peers.get(peer)?.close();
    this.peers.delete(peer);
  }

  /**
   * Takes a connection from the mux, after its first byte (0x01) was consumed. Wraps it in TLS
   * when peer TLS is configured, then reads the hello and the message frames.
   */
  accept(raw: net.Socket): void {
    if (this.closed) {
      raw.destroy();
      return;
    }
    if (this.tlsServer) {
      // The TLS server never listens: it runs the handshake on the socket the mux hands over,
      // requires a client certificate of the peer CA, and refuses anything else.
      this.inbound.add(raw);
      raw.once('close', () => this.inbound.delete(raw));
      this.tlsServer.emit('connection', raw);
      return;
    }
    this.serve(raw, raw.remoteAddress);
  }

  /** Reads the hello and then message frames from an accepted (and, with TLS, verified) stream. */
  private serve(sock: Duplex, remote: string | undefined): void {
    this.inbound.add(sock);
    const decoder = new FrameDecoder(this.maxFrameBytes);
    let hello: Hello | undefined;
    const reject = (why: string): void => {
      this.stats.rejectedConnections++;
      this.log.warn({ remote, why }, 'closing peer connection');
      sock.destroy();
    };
    sock.on('data', (chunk: Buffer) => {
      try {
        for (const body of decoder.push(chunk)) {
          if (!hello) {
            hello = this.checkHello(body);
            continue;
          }
          const msg = decodeMessage(body);
          if (msg.from !== hello.from || msg.to !== this.opts.localId) {
            throw new InvalidArgumentError(`message from ${msg.from} to ${msg.to} on ${hello.from}'s connection`);
          }
          this.stats.received++;
          this.handler(msg);
        }
      } catch (err) {
        reject(errorMessage(err));
      }
    });
    sock.on('error', (err) => this.log.debug({ err }, 'inbound peer connection error'));
    sock.on('close', () => this.inbound.delete(sock));
  }

  private checkHello(body: readonly Buffer[]): Hello {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(body).toString('utf8'));
    } catch {
      throw new InvalidArgumentError('peer hello is not JSON');
    }
    const h = parsed as Partial<Hello>;
    if (h.v !== HELLO_VERSION || typeof h.from !== 'string' || typeof h.to !== 'string' || typeof h.cluster !== 'string') {
      throw new InvalidArgumentError('malformed peer hello');
    }
    if (h.cluster !== this.opts.clusterId) throw new InvalidArgumentError(`peer ${h.from} belongs to cluster ${h.cluster}`);
    if (h.to !== this.opts.localId) throw new InvalidArgumentError(`peer ${h.from} dialed ${h.to}, this node is ${this.opts.localId}`);
    return h as Hello;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    for (const sock of this.inbound) sock.destroy();
    this.inbound.clear();
    return Promise.resolve();
  }
}

/** The outbound connection to one peer: dial, hello, queue, backoff. */
class OutboundPeer {
  private sock: Duplex | undefined;
  private ready = false;
  /** Frames waiting for the connection, each as the parts written in order. */
  private queue: (readonly Buffer[])[] = [];
  private queuedBytes = 0;
  private backoffMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly maxQueueBytes: number;

  constructor(
    private readonly peer: NodeId,
    private readonly opts: TcpTransportOptions,
    private readonly log: Logger,
    private readonly stats: TransportStats,
  ) {
    this.maxQueueBytes = opts.maxQueueBytes ?? 32 * 1024 * 1024;
    this.backoffMs = opts.backoffMinMs ?? 50;
  }

  /** Sends a frame (its parts, in order) now, or queues it whole, or drops it whole. */
  enqueue(frame: readonly Buffer[]): void {
    if (this.ready && this.sock && this.queue.length === 0) {
      this.stats.sent++;
      if (!writeFrame(this.sock, frame)) this.ready = false;
      return;
    }
    const bytes = totalLength(frame);
    if (this.queuedBytes + bytes > this.maxQueueBytes) {
      this.stats.dropped++;
      return;
    }
    this.queue.push(frame);
    this.queuedBytes += bytes;
    if (!this.sock && !this.retryTimer) this.dial();
  }

  private dial(): void {
    if (this.closed) return;
    const addr = this.opts.resolve(this.peer);
    const split = addr ? splitHostPort(addr) : null;
    if (!split || split.port === 0) {
      this.dropQueue();
      this.scheduleRetry();
      return;
    }
    const raw = net.connect({ host: split.host, port: split.port });
    raw.setNoDelay(true);
    raw.setTimeout(this.opts.dialTimeoutMs ?? 5000, () => raw.destroy(new ClosedError('peer dial timed out')));
    raw.write(Buffer.of(RAFT_MUX_BYTE));
    const sock: Duplex = this.opts.tls ? tls.connect({ ...this.opts.tls.dial, socket: raw }) : raw;
    this.sock = sock;
    const established = this.opts.tls ? 'secureConnect' : 'connect';
    sock.once(established, () => {
      raw.setTimeout(0);
      const hello: Hello = { v: HELLO_VERSION, from: this.opts.localId, to: this.peer, cluster: this.opts.clusterId };
      const body = Buffer.from(JSON.stringify(hello));
      const frame = Buffer.allocUnsafe(4 + body.length);
      frame.writeUInt32BE(body.length, 0);
      body.copy(frame, 4);
      sock.write(frame);
      this.backoffMs = this.opts.backoffMinMs ?? 50;
      this.ready = true;
      this.flush();
    });
    sock.on('drain', () => {
      this.ready = true;
      this.flush();
    });
    // Peers never send on our outbound connection; reading keeps the socket flowing.
    sock.on('data', () => undefined);
    sock.on('error', (err) => this.log.debug({ peer: this.peer, addr, err: err.message }, 'peer connection error'));
    sock.on('close', () => {
      if (this.sock !== sock) return;
      this.sock = undefined;
      this.ready = false;
      this.dropQueue();
      this.scheduleRetry();
    });
  }

  private flush(): void {
    const sock = this.sock;
    while (this.ready && sock && this.queue.length > 0) {
      const frame = this.queue.shift() as readonly Buffer[];
      this.queuedBytes -= totalLength(frame);
      this.stats.sent++;
      if (!writeFrame(sock, frame)) this.ready = false;
    }
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    const delay = this.backoffMs / 2 + Math.random() * (this.backoffMs / 2);
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.backoffMaxMs ?? 2000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      // Redial only when there is something to say; the next send dials otherwise.
      if (this.queue.length > 0) this.dial();
    }, delay);
    this.retryTimer.unref();
  }

  private dropQueue(): void {
    this.stats.dropped += this.queue.length;
    this.queue = [];
    this.queuedBytes = 0;
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.dropQueue();
    this.sock?.destroy();
    this.sock = undefined;
  }
}

/** Writes a frame's parts back to back (one writev when there are several); false: buffer full. */
function writeFrame(sock: Duplex, parts: readonly Buffer[]): boolean {
  if (parts.length === 1) return sock.write(parts[0]);
  sock.cork();
  let ok = true;
  for (const p of parts) ok = sock.write(p);
  sock.uncork();
  return ok;
}
