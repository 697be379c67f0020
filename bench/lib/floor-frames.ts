/** Frames of the minimal replicated append (replication-floor.ts): u32 payload length, u32 sequence number, payload. */
import type net from 'node:net';

export function sendFrame(sock: net.Socket, seq: number, payload: Buffer): void {
  const header = Buffer.allocUnsafe(8);
  header.writeUInt32BE(payload.length, 0);
  header.writeUInt32BE(seq, 4);
  sock.cork();
  sock.write(header);
  sock.write(payload);
  sock.uncork();
}

/** Calls `handle` for each whole frame read from `sock`. */
export function onFrames(sock: net.Socket, handle: (seq: number, payload: Buffer) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  sock.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 8) {
      const n = buf.readUInt32BE(0);
      if (buf.length < 8 + n) break;
      handle(buf.readUInt32BE(4), buf.subarray(8, 8 + n));
      buf = buf.subarray(8 + n);
    }
  });
}
