/**
 * The real GossipTransport: one udp4 socket (unref'd), bound before use.
 *
 *   const transport = await UdpTransport.bind({ host: '127.0.0.1', port: 0 });
 */
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { splitHostPort } from './config.js';
import type { GossipTransport } from './types.js';

export interface UdpTransportOptions {
  host: string;
  port: number;
  logger?: Logger;
}

export class UdpTransport implements GossipTransport {
  private handler: ((bytes: Uint8Array, from: string) => void) | null = null;
  private closing: Promise<void> | null = null;
  /** Datagrams the socket refused to send (bad address, buffer full, closed). */
  sendErrors = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly log: Logger,
  ) {
    socket.on('message', (msg, rinfo) => this.handler?.(msg, `${rinfo.address}:${rinfo.port}`));
    socket.on('error', (err) => this.log.warn({ err }, 'gossip socket error'));
  }

  /** Binds a udp4 socket at host:port (port 0 picks a free one). */
  static async bind(opts: UdpTransportOptions): Promise<UdpTransport> {
    const socket = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port, opts.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.unref();
    const log = (opts.logger ?? silentLogger()).child({ component: 'gossip-udp' });
    return new UdpTransport(socket, log);
  }

  localAddress(): string {
    const a = this.socket.address();
    return `${a.address}:${a.port}`;
  }

  send(addr: string, bytes: Uint8Array): void {
    if (this.closing) return;
    let host: string;
    let port: number;
    try {
      ({ host, port } = splitHostPort(addr));
    } catch {
      this.sendErrors++;
      return;
    }
    this.socket.send(bytes, port, host, (err) => {
      if (!err) return;
      this.sendErrors++;
      this.log.debug({ err, addr }, 'gossip send failed');
    });
  }

  onPacket(handler: (bytes: Uint8Array, from: string) => void): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.handler = null;
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    return this.closing;
  }
}
