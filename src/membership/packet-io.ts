/**
 * Turns messages into datagrams and back: codec + envelope + piggybacking + counters. Outgoing
 * packets never exceed maxPacketBytes: piggybacked updates fill only the room left, and a
 * full-state sync is split over as many packets as it needs. Incoming packets that are too big,
 * do not decrypt or do not decode are dropped and counted, never thrown.
 */
import type { Logger } from '../logger.js';
import { totalLength } from '../util/bytes.js';
import type { BroadcastQueue } from './broadcast-queue.js';
import {
  decodePayload,
  encodeFrame,
  FRAME_HEADER_BYTES,
  joinFrames,
  MalformedPacketError,
  MAX_MESSAGES_PER_PACKET,
  PAYLOAD_HEADER_BYTES,
  recordBytes,
} from './codec.js';
import type { Envelope } from './envelope.js';
import type { GossipMessage, MemberRecord } from './messages.js';
import type { GossipTransport, MembershipStats } from './types.js';

/** Bytes of a sync message without its records (type, from, flag, count). */
const SYNC_HEADER_BYTES = 1 + 256 + 1 + 2;

export class PacketIO {
  constructor(
    private readonly transport: GossipTransport,
    private readonly envelope: Envelope,
    private readonly maxPacketBytes: number,
    private readonly broadcasts: BroadcastQueue,
    private readonly clusterSize: () => number,
    private readonly stats: MembershipStats,
    private readonly log: Logger,
  ) {}

  /** Room for the payload inside one datagram. */
  private get payloadBudget(): number {
    return this.maxPacketBytes - this.envelope.overheadBytes;
  }

  /** Sends `msgs` (may be empty) plus as many pending updates as fit; nothing if both are empty. */
  send(addr: string, msgs: readonly GossipMessage[], piggyback = true): void {
    const frames = msgs.map(encodeFrame);
    if (piggyback) {
      const room = this.payloadBudget - PAYLOAD_HEADER_BYTES - totalLength(frames);
      frames.push(...this.broadcasts.take(room, MAX_MESSAGES_PER_PACKET - frames.length, this.clusterSize()));
    }
    if (frames.length === 0) return;
    this.sendPayload(addr, joinFrames(frames));
  }

  /** Sends the whole table as sync messages, split so that each datagram fits. */
  sendSync(addr: string, from: string, replyWanted: boolean, records: readonly MemberRecord[]): void {
    const budget = this.payloadBudget - PAYLOAD_HEADER_BYTES - FRAME_HEADER_BYTES - SYNC_HEADER_BYTES;
    let chunk: MemberRecord[] = [];
    let used = 0;
    const flush = (): void => {
      this.sendPayload(addr, joinFrames([encodeFrame({ type: 'sync', from, replyWanted, members: chunk })]));
      chunk = [];
      used = 0;
    };
    for (const r of records) {
      const n = recordBytes(r);
      if (used + n > budget && chunk.length > 0) flush();
      chunk.push(r);
      used += n;
    }
    if (chunk.length > 0 || records.length === 0) flush();
  }

  /** Decodes one datagram; null (counted) when it must be dropped. */
  receive(bytes: Uint8Array): GossipMessage[] | null {
    this.stats.packetsIn++;
    this.stats.bytesIn += bytes.byteLength;
    if (bytes.byteLength > this.maxPacketBytes) {
      this.stats.droppedOversize++;
      return null;
    }
    const opened = this.envelope.open(bytes);
    if (!opened.ok) {
      if (opened.reason === 'decrypt') this.stats.droppedDecrypt++;
      else this.stats.droppedMalformed++;
      return null;
    }
    try {
      return decodePayload(opened.payload);
    } catch (err) {
      if (!(err instanceof MalformedPacketError)) throw err;
      this.stats.droppedMalformed++;
      this.log.debug({ detail: err.detail }, 'dropped a malformed gossip packet');
      return null;
    }
  }

  private sendPayload(addr: string, payload: Buffer): void {
    const packet = this.envelope.seal(payload);
    if (packet.length > this.maxPacketBytes) {
      this.stats.droppedOversize++;
      this.log.warn({ bytes: packet.length, maxPacketBytes: this.maxPacketBytes }, 'refused to send an oversized gossip packet');
      return;
    }
    this.stats.packetsOut++;
    this.stats.bytesOut += packet.length;
    this.transport.send(addr, packet);
  }
}
