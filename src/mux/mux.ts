/**
 * One TCP port for everything (ARCHITECTURE 5). The first byte of each connection picks the
 * protocol: 0x01 -> the Raft transport (registered by the agent; none yet -> closed), anything
 * else -> gRPC. With TLS configured the mux terminates client TLS itself (ALPN h2, client
 * certificate requested and checked against the client CA) and hands grpc-js the decrypted
 * socket; a client without a valid certificate still completes the handshake, and every call it
 * makes is answered UNAUTHENTICATED (grpc-js reports no peer identity for an unverified socket).
 * Limits: at most `maxConnections` open connections, `firstByteTimeoutMs` to send the first byte
 * and to finish the TLS handshake; garbage costs only its own connection.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
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
  firstByteTimeoutMs: number;
  logger: Logger;
}

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

  private constructor(private readonly opts: MuxOptions) {
    this.logger = opts.logger.child({ component: 'mux' });
    this.tlsServer = opts.tls ? this.createTls(opts.tls) : undefined;
    this.server = createServer({ pauseOnConnect: false, noDelay: true }, (sock) => this.accept(sock));
    this.server.maxConnections = opts.maxConnections;
    this.server.on('drop', (info) => this.logger.warn({ remote: info?.remoteAddress }, 'connection refused: too many connections'));
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
        this.expectPreface(tlsSock, tlsSock);
      },
    );
    server.on('tlsClientError', (err: Error, tlsSock: TLSSocket) => {
      this.logger.debug({ err: err.message }, 'TLS handshake failed');
      tlsSock.destroy();
    });
    return server;
  }

  private accept(sock: Socket): void {
    this.sockets.add(sock);
    this.pending.add(sock);
    sock.once('close', () => {
      this.sockets.delete(sock);
      this.pending.delete(sock);
    });
    sock.on('error', (err) => this.logger.debug({ err: err.message }, 'connection error'));
    sock.setTimeout(this.opts.firstByteTimeoutMs, () => {
      this.logger.debug({ remote: sock.remoteAddress }, 'closing a connection that sent nothing');
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
      else sock.destroy();
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
    this.pending.add(owner);
    const timer = setTimeout(() => stream.destroy(), this.opts.firstByteTimeoutMs);
    timer.unref();
    let head = Buffer.alloc(0);
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = stream.read() as Buffer | null) !== null) head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, HTTP2_PREFACE.length);
      if (!head.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n))) {
        this.logger.debug({ remote: owner.remoteAddress }, 'closing a connection that is not HTTP/2');
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
    // emits 'secureConnection' (bounded by handshakeTimeout) or 'tlsClientError'.
    this.pending.delete(sock);
    this.tlsServer?.emit('connection', sock);
  }
}
