/**
 * The outer layer of every gossip datagram. Byte 0 says what follows:
 *   0x01  plaintext payload
 *   0x02  AES-256-GCM: 12-byte random nonce, ciphertext, 16-byte tag; byte 0 is the AAD
 * With a key configured, only 0x02 packets that authenticate are accepted; without one, only
 * 0x01. Anything else is reported as a typed rejection for the caller to count.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigError } from '../errors.js';

const PLAIN = 0x01;
const SEALED = 0x02;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export type OpenResult =
  | { ok: true; payload: Buffer }
  | { ok: false; reason: 'decrypt' | 'malformed' };

/** Parses a gossip key given as 32 raw bytes or their base64 form. */
export function parseGossipKey(key: Uint8Array | string): Buffer {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'base64') : Buffer.from(key);
  if (bytes.length !== KEY_BYTES) {
    throw new ConfigError('gossip-key', `must be ${KEY_BYTES} bytes (base64 of 32 bytes), got ${bytes.length}`);
  }
  return bytes;
}

export class Envelope {
  private readonly key: Buffer | null;

  constructor(key?: Uint8Array | string) {
    this.key = key === undefined ? null : parseGossipKey(key);
  }

  /** Bytes the envelope adds to a payload. */
  get overheadBytes(): number {
    return this.key ? 1 + NONCE_BYTES + TAG_BYTES : 1;
  }

  seal(payload: Buffer): Buffer {
    if (!this.key) return Buffer.concat([Buffer.of(PLAIN), payload]);
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    const header = Buffer.of(SEALED);
    cipher.setAAD(header);
    const body = Buffer.concat([cipher.update(payload), cipher.final()]);
    return Buffer.concat([header, nonce, body, cipher.getAuthTag()]);
  }

  open(packet: Uint8Array): OpenResult {
    const buf = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
    const kind = buf[0];
    if (kind === PLAIN) return this.key ? { ok: false, reason: 'decrypt' } : { ok: true, payload: buf.subarray(1) };
    if (kind !== SEALED) return { ok: false, reason: 'malformed' };
    if (!this.key || buf.length < 1 + NONCE_BYTES + TAG_BYTES) return { ok: false, reason: 'decrypt' };
    try {
      const nonce = buf.subarray(1, 1 + NONCE_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', this.key, nonce);
      decipher.setAAD(buf.subarray(0, 1));
      decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
      const body = buf.subarray(1 + NONCE_BYTES, buf.length - TAG_BYTES);
      return { ok: true, payload: Buffer.concat([decipher.update(body), decipher.final()]) };
    } catch {
      return { ok: false, reason: 'decrypt' };
    }
  }
}
