/**
 * One TCP port for everything (ARCHITECTURE 5). The first byte of each connection picks the
 * protocol: 0x01 -> the Raft transport (registered by the agent; none yet -> closed), anything
 * else -> gRPC. With TLS configured the mux terminates client TLS itself (ALPN h2, client
 * certificate requested and checked against the client CA) and hands grpc-js the decrypted
 * socket; a client without a valid certificate still completes the handshake, and every call it
 * makes is answered UNAUTHENTICATED (grpc-js reports no peer identity for an unverified socket).
 * Limits: at most `maxConnections` open connections (more are refused by the listener); at most
 * `maxPendingConnections` of them not yet handed to a protocol (a new one evicts the oldest, so a
 * flood of connections that never finish their preface or handshake cannot keep real clients
 * out); `firstByteTimeoutMs` to send the first byte, again to finish the TLS handshake, and again
 * to complete the HTTP/2 preface. Garbage costs only its own connection. Refusals are counted in
 * `stats` and logged at most once per `refusalLogIntervalMs`.
 */
import { Socket, createServer, type AddressInfo, type Server } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logger.js';

/** Every HTTP/2 (so gRPC) connection starts with this client preface (RFC 9113, 3.4). */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** The first byte of a Raft peer connection. */
export const RAFT_MAGIC_BYTE = 0x01;

export interface MuxTls {
  cert: Buffer;
  key: Buffer;
  /** CA that signs client certificates. */
  ca: Buffer;
}

export interface MuxOptions {
  host: string;
  port: number;
  /** Receives every non-Raft connection (grpc-js `createConnectionInjector(...).injectConnection`). */
  grpc: (connection: Duplex) => void;
  tls?: MuxTls;
  maxConnections: number;
  /**
   * Connections still in their first byte / TLS handshake / preface; beyond it the oldest is
   * evicted. Default maxConnections (no eviction); the agent uses a quarter of maxConnections.
   */
  maxPendingConnections?: number;
  firstByteTimeoutMs: number;
  logger: Logger;
}

/** Connections the mux ended on purpose, by reason, since it started. */
export interface MuxStats {
  /** Over maxConnections (closed by the listener). */
  refused: number;
  /** Evicted as the oldest unfinished connection when maxPendingConnections was reached. */
  evicted: number;
  /** First byte, TLS handshake or preface not done within firstByteTimeoutMs. */
  timedOut: number;
  /** Not Raft, not HTTP/2, or a failed TLS handshake. */
  rejected: number;
}

const refusalLogIntervalMs = 5_000;

/** A Raft transport takes over sockets whose magic byte was already consumed. */
export type RaftConnectionHandler = (socket: Socket) => void;

export class Mux {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Connections not yet handed to a protocol (waiting for their first byte or TLS handshake). */
  private readonly pending = new Set<Socket>();
  private readonly tlsServer: TlsServer | undefined;
  private readonly logger: Logger;
  private raftHandler: RaftConnectionHandler | undefined;
  private closing: Promise<void> | undefined;
  private readonly maxPending: number;
  readonly stats: MuxStats = { refused: 0, evicted: 0, timedOut: 0, rejected: 0 };
  private lastRefusalLogMs = 0;
  private refusalsLogged: MuxStats = { refused: 0, evicted: 0, timedOut: 0, rejected: 0 };

  private constructor(private readonly opts: MuxOptions) {
    this.logger = opts.logger.child({ component: 'mux' });
    this.tlsServer = opts.tls ? this.createTls(opts.tls) : undefined;
    this.server = createServer({ pauseOnConnect: false, noDelay: true }, (sock) => this.accept(sock));
    this.server.maxConnections = opts.maxConnections;
    this.maxPending = Math.max(1, opts.maxPendingConnections ?? opts.maxConnections);
    this.server.on('drop', () => this.count('refused'));
  }

  /** Listens on `host:port` (port 0 picks one); rejects with EADDRINUSE etc. */
  static async listen(opts: MuxOptions): Promise<Mux> {
    const mux = new Mux(opts);
    await new Promise<void>((resolve, reject) => {
      mux.server.once('error', reject);
      mux.server.listen(opts.port, opts.host, () => {
        mux.server.off('error', reject);
        resolve();
      });
    });
    mux.server.on('error', (err) => mux.logger.error({ err }, 'listener error'));
    return mux;
  }

  /** The bound port (port 0 resolved). */
  port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  registerRaftHandler(handler: RaftConnectionHandler): void {
    this.raftHandler = handler;
  }

  /** Open connections (for tests and metrics). */
  connectionCount(): number {
    return this.sockets.size;
  }

  /** Connections not yet handed to a protocol. */
  pendingCount(): number {
    return this.pending.size;
  }

  /** Stops accepting and destroys connections not yet handed to a protocol. Idempotent. */
  close(): Promise<void> {
    // Connections already handed to gRPC or Raft are closed by their owners: resolve once the
    // listener stops, not when every connection has ended.
    this.closing ??= new Promise<void>((resolve) => {
      if (this.server.listening) this.server.close();
      for (const s of this.pending) s.destroy();
      resolve();
    });
    return this.closing;
  }

  private createTls(tls: MuxTls): TlsServer {
    const server = createTlsServer(
      {
        cert: tls.cert,
        key: tls.key,
        ca: tls.ca,
        requestCert: true,
        rejectUnauthorized: false,
        ALPNProtocols: ['h2'],
        handshakeTimeout: this.opts.firstByteTimeoutMs,
      },
      (tlsSock: TLSSocket) => {
        if (!tlsSock.authorized) {
          this.logger.debug({ remote: tlsSock.remoteAddress, reason: String(tlsSock.authorizationError) }, 'client certificate not verified');
        }
        const raw = rawSocketOf(tlsSock);
        if (raw !== tlsSock && !this.pending.has(raw)) {
          tlsSock.destroy(); // evicted while its handshake finished
          return;
        }
        this.expectPreface(tlsSock, raw);
      },
    );
    server.on('tlsClientError', (err: Error, tlsSock: TLSSocket) => {
      this.logger.debug({ err: err.message }, 'TLS handshake failed');
      this.count(err.message.includes('timed out') ? 'timedOut' : 'rejected');
      tlsSock.destroy();
    });
    return server;
  }

  private accept(sock: Socket): void {
    this.sockets.add(sock);
    this.addPending(sock);
    sock.once('close', () => {
      this.sockets.delete(sock);
      this.pending.delete(sock);
    });
    sock.on('error', (err) => this.logger.debug({ err: err.message }, 'connection error'));
    sock.setTimeout(this.opts.firstByteTimeoutMs, () => {
      this.logger.debug({ remote: sock.remoteAddress }, 'closing a connection that sent nothing');
      this.count('timedOut');
      sock.destroy();
    });
    const onReadable = (): void => {
      const chunk = sock.read(1) as Buffer | null;
      if (chunk === null) return;
      sock.off('readable', onReadable);
      sock.setTimeout(0);
      this.route(sock, chunk);
    };
    sock.on('readable', onReadable);
  }

  private route(sock: Socket, first: Buffer): void {
    if (first[0] === RAFT_MAGIC_BYTE) {
      this.pending.delete(sock);
      if (this.raftHandler) this.raftHandler(sock);
      else {
        this.count('rejected');
        sock.destroy();
      }
      return;
    }
    sock.unshift(first);
    if (this.tlsServer) this.startTls(sock);
    else this.expectPreface(sock, sock);
  }

  /**
   * Hands `stream` to gRPC once it has sent the whole HTTP/2 preface; garbage is closed at once,
   * and a connection that stops half way is closed after firstByteTimeoutMs (grpc-js would keep
   * it open). The bytes read are put back, so gRPC sees the stream from its start.
   * (Read everything and unshift once at the end: unshift with a 'readable' listener attached
   * emits 'readable' again, which would spin.)
   */
  private expectPreface(stream: Socket | TLSSocket, owner: Socket): void {
    const timer = setTimeout(() => {
      this.count('timedOut');
      stream.destroy();
    }, this.opts.firstByteTimeoutMs);
    timer.unref();
    let head = Buffer.alloc(0);
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = stream.read() as Buffer | null) !== null) head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, HTTP2_PREFACE.length);
      if (!head.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n))) {
        this.logger.debug({ remote: owner.remoteAddress }, 'closing a connection that is not HTTP/2');
        this.count('rejected');
        stream.destroy();
        return;
      }
      if (head.length < HTTP2_PREFACE.length) return;
      clearTimeout(timer);
      stream.off('readable', onReadable);
      this.pending.delete(owner);
      // Put every byte back at once, with no 'readable' listener left: gRPC reads from the start.
      stream.unshift(head);
      this.opts.grpc(stream);
    };
    stream.once('close', () => {
      clearTimeout(timer);
      this.pending.delete(owner);
    });
    stream.on('readable', onReadable);
    // Bytes may already be buffered (the peeked first byte): 'readable' is not emitted again
    // for them when a listener was just swapped, so look now.
    onReadable();
  }

  private startTls(sock: Socket): void {
    // The TLS server never listens: it only runs handshakes on sockets the mux hands it, and
    // emits 'secureConnection' (bounded by handshakeTimeout) or 'tlsClientError'. The raw
    // socket stays pending until the preface check hands it on.
    this.tlsServer?.emit('connection', sock);
  }

  /** Tracks an unfinished connection; at the limit, the oldest unfinished one is closed. */
  private addPending(sock: Socket): void {
    if (this.pending.has(sock)) return;
    if (this.pending.size >= this.maxPending) {
      const oldest = this.pending.values().next().value;
      if (oldest !== undefined) {
        this.pending.delete(oldest);
        this.count('evicted');
        oldest.destroy();
      }
    }
    this.pending.add(sock);
  }

  /** Counts a refusal; one warning per interval sums them up (a flood must not flood the log). */
  private count(reason: keyof MuxStats): void {
    this.stats[reason]++;
    const now = Date.now();
    if (reason === 'rejected' || now - this.lastRefusalLogMs < refusalLogIntervalMs) return;
    const since = {
      refused: this.stats.refused - this.refusalsLogged.refused,
      evicted: this.stats.evicted - this.refusalsLogged.evicted,
      timedOut: this.stats.timedOut - this.refusalsLogged.timedOut,
    };
    this.lastRefusalLogMs = now;
    this.refusalsLogged = { ...this.stats };
    this.logger.warn({ ...since, open: this.sockets.size, pending: this.pending.size }, 'connections refused or closed unfinished (connection limits)');
  }
}

/**
 * The TCP socket under a TLS socket the TLS server made from it (Node keeps it as `_parent`; not
 * public API, checked at run time). Falls back to the TLS socket itself; the TCP socket then stays
 * counted as pending until it closes (the cap still holds, it may evict an established one).
 */
function rawSocketOf(tlsSock: TLSSocket): Socket {
  const parent: unknown = (tlsSock as unknown as { _parent?: unknown })._parent;
  return parent instanceof Socket ? parent : tlsSock;
}
