import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { decodeMessage, encodeFrameParts, encodeMessage, EntriesEncodingCache, FRAME_HEADER_BYTES, frameBytesEstimate } from '../../src/raft/codec.js';
import type { Entry, EntryType, Message } from '../../src/raft/core/types.js';
import type { ForwardErrorKind, PeerFrame } from '../../src/raft/peer-frames.js';

const u = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const id = fc.string({ minLength: 1, maxLength: 40 });
const entryType = fc.constantFrom<EntryType>(0, 1, 2);
const entry: fc.Arbitrary<Entry> = fc.record({
  index: u,
  term: u,
  type: entryType,
  data: fc.uint8Array({ maxLength: 64 }),
});
const config = fc
  .uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 6 })
  .map((ids) => ({ voters: ids.filter((_, i) => i % 2 === 0).sort(), learners: ids.filter((_, i) => i % 2 === 1).sort() }));

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('AppendEntries' as const), from: id, to: id, term: u, prevIndex: u, prevTerm: u, commit: u, entries: fc.array(entry, { maxLength: 5 }) }),
  fc.record({ type: fc.constant('AppendEntriesResponse' as const), from: id, to: id, term: u, success: fc.boolean(), index: u, conflictIndex: u, conflictTerm: u }),
  fc.record({ type: fc.constant('RequestVote' as const), from: id, to: id, term: u, pre: fc.boolean(), lastIndex: u, lastTerm: u, transfer: fc.boolean() }),
  fc.record({ type: fc.constant('RequestVoteResponse' as const), from: id, to: id, term: u, pre: fc.boolean(), granted: fc.boolean() }),
  fc.record({ type: fc.constant('Heartbeat' as const), from: id, to: id, term: u, commit: u, readContext: u }),
  fc.record({ type: fc.constant('HeartbeatResponse' as const), from: id, to: id, term: u, readContext: u }),
  fc.record({
    type: fc.constant('InstallSnapshot' as const), from: id, to: id, term: u,
    snapshot: fc.record({ index: u, term: u, configIndex: u, config, data: fc.uint8Array({ maxLength: 32 }) }),
  }),
  fc.record({ type: fc.constant('TimeoutNow' as const), from: id, to: id, term: u }),
);
const frame: fc.Arbitrary<PeerFrame> = fc.oneof(
  message,
  fc.record({ type: fc.constant('ForwardRequest' as const), from: id, to: id, term: u, id: u, values: fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 5 }) }),
  fc.record({
    type: fc.constant('ForwardResponse' as const), from: id, to: id, term: u, id: u, ok: fc.boolean(), firstOffset: u,
    errorKind: fc.constantFrom<ForwardErrorKind>('unavailable', 'invalid-argument', 'too-large', 'disk-full', 'internal'),
    errorMessage: fc.string({ maxLength: 100 }), leader: fc.string({ maxLength: 20 }),
  }),
);

/** Normalizes byte arrays so Buffer views and Uint8Arrays compare equal. */
const plain = (v: unknown): unknown => {
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
};

describe('raft codec', () => {
  it('round-trips every message kind', () => {
    fc.assert(
      fc.property(frame, (m) => {
        const bytes = encodeMessage(m);
        expect(bytes.readUInt32BE(0)).toBe(bytes.length - FRAME_HEADER_BYTES);
        expect(plain(decodeMessage(bytes.subarray(FRAME_HEADER_BYTES)))).toEqual(plain(m));
      }),
      { numRuns: 500 },
    );
  });

  it('sizes the encoder buffer to fit every frame, long non-ASCII node ids included (it never grows)', () => {
    // Growing a big AppendEntries would allocate twice its size and copy it again (it did, once:
    // the node ids were left out of the estimate).
    const longId = fc.string({ unit: 'binary', minLength: 1, maxLength: 80 });
    fc.assert(
      fc.property(fc.tuple(frame, longId, longId), ([m, from, to]) => {
        const withIds = { ...m, from, to };
        expect(encodeMessage(withIds).length).toBeLessThanOrEqual(frameBytesEstimate(withIds));
      }),
      { numRuns: 500 },
    );
  });

  it('decodes a body given in any split into parts exactly as the whole body, values as views where they fit a part', () => {
    const splits = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(frame, splits, (m, cuts) => {
        const body = encodeMessage(m).subarray(FRAME_HEADER_BYTES);
        const parts: Buffer[] = [];
        for (let pos = 0, i = 0; pos < body.length; i++) {
          const n = cuts[i % cuts.length] ?? 1;
          parts.push(body.subarray(pos, pos + n));
          pos += n;
        }
        expect(plain(decodeMessage(parts))).toEqual(plain(m));
        // Every truncation of the parts is still a typed error.
        if (parts.length > 1) expect(() => decodeMessage(parts.slice(0, -1))).toThrow(InvalidArgumentError);
      }),
      { numRuns: 500 },
    );
    // An entry inside one part is a view of it, one across two parts a copy.
    const e = (n: number): Entry => ({ index: n, term: 1, type: 0, data: Buffer.alloc(100, n) });
    const ae: Message = { type: 'AppendEntries', from: 'a', to: 'b', term: 1, prevIndex: 0, prevTerm: 0, commit: 0, entries: [e(1), e(2)] };
    const body = encodeMessage(ae).subarray(FRAME_HEADER_BYTES);
    const cut = body.length - 50; // inside the second entry's data
    const got = decodeMessage([body.subarray(0, cut), body.subarray(cut)]);
    if (got.type !== 'AppendEntries') throw new Error('expected AppendEntries');
    // Inside `body`'s bytes or not (`.buffer` alone could be a shared Buffer pool slab).
    const within = (v: Uint8Array | undefined): boolean =>
      v !== undefined && v.buffer === body.buffer && v.byteOffset >= body.byteOffset && v.byteOffset + v.length <= body.byteOffset + body.length;
    expect(within(got.entries[0]?.data)).toBe(true);
    expect(within(got.entries[1]?.data)).toBe(false);
    expect(Buffer.from(got.entries[1]?.data ?? []).equals(Buffer.alloc(100, 2))).toBe(true);
  });

  it('encodes a frame in parts to the same bytes, the entries of an AppendEntries shared with the next one for another follower', () => {
    const cache = new EntriesEncodingCache();
    fc.assert(
      fc.property(frame, id, u, u, (m, otherFollower, prevIndex, commit) => {
        expect(Buffer.concat(encodeFrameParts(m, cache)).equals(encodeMessage(m))).toBe(true);
        if (m.type !== 'AppendEntries' || m.entries.length === 0) return;
        // The same entries to another follower, from another position: the cached entries, the
        // other header.
        const again: PeerFrame = { ...m, to: otherFollower, prevIndex, commit };
        const first = encodeFrameParts(m, cache);
        const second = encodeFrameParts(again, cache);
        expect(second[1]).toBe(first[1]);
        expect(Buffer.concat(second).equals(encodeMessage(again))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('rejects every truncation of a frame with a typed error', () => {
    fc.assert(
      fc.property(frame, (m) => {
        const body = encodeMessage(m).subarray(FRAME_HEADER_BYTES);
        for (let cut = 0; cut < body.length; cut++) {
          expect(() => decodeMessage(body.subarray(0, cut))).toThrow(InvalidArgumentError);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('never throws anything but InvalidArgumentError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeMessage(Buffer.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidArgumentError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses to encode an index that is not a safe integer', () => {
    const bad: Message = { type: 'TimeoutNow', from: 'a', to: 'b', term: 2 ** 53 };
    expect(() => encodeMessage(bad)).toThrow(InvalidArgumentError);
  });
});
