import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { FrameDecoder } from '../../src/raft/frame-decoder.js';

const frame = (body: Uint8Array): Buffer => {
  const b = Buffer.allocUnsafe(4 + body.length);
  b.writeUInt32BE(body.length, 0);
  b.set(body, 4);
  return b;
};

describe('FrameDecoder', () => {
  it('reassembles frames from any split of the byte stream', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 10 }), fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1 }), (bodies, cuts) => {
        const stream = Buffer.concat(bodies.map(frame));
        const dec = new FrameDecoder(1024);
        const out: Buffer[] = [];
        let pos = 0;
        let i = 0;
        while (pos < stream.length) {
          const n = cuts[i++ % cuts.length] ?? 1;
          out.push(...dec.push(stream.subarray(pos, pos + n)).map((parts) => Buffer.concat(parts)));
          pos += n;
        }
        expect(out.map((b) => Array.from(b))).toEqual(bodies.map((b) => Array.from(b)));
        expect(dec.pendingBytes()).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('copies nothing: a frame comes back as views of the chunks it arrived in, without the next frame bytes', () => {
    const a = frame(Buffer.alloc(8000, 1));
    const b = frame(Buffer.alloc(8000, 2));
    const stream = Buffer.concat([a, b]);
    const dec = new FrameDecoder(1 << 20);
    const c1 = stream.subarray(0, 5000);
    const c2 = stream.subarray(5000, 15000);
    expect(dec.push(c1)).toEqual([]);
    const [partsA, ...none] = dec.push(c2);
    expect(none).toEqual([]);
    expect(partsA?.map((p) => p.length)).toEqual([5000 - 4, 8004 - 5000]);
    for (const p of partsA ?? []) expect(p.buffer).toBe(stream.buffer);
    expect(partsA?.[0]?.byteOffset).toBe(stream.byteOffset + 4);
    expect(Buffer.concat(partsA ?? []).every((x) => x === 1)).toBe(true);
    const [partsB] = dec.push(stream.subarray(15000));
    expect(Buffer.concat(partsB ?? []).equals(b.subarray(4))).toBe(true);
    expect(dec.pendingBytes()).toBe(0);
  });

  it('rejects a frame longer than the limit', () => {
    const dec = new FrameDecoder(10);
    expect(() => dec.push(frame(new Uint8Array(11)))).toThrow(InvalidArgumentError);
  });
});
