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
          out.push(...dec.push(stream.subarray(pos, pos + n)));
          pos += n;
        }
        expect(out.map((b) => Array.from(b))).toEqual(bodies.map((b) => Array.from(b)));
        expect(dec.pendingBytes()).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('returns a view when one chunk holds the frame, and joins only the frame bytes otherwise', () => {
    const a = frame(Buffer.alloc(8000, 1));
    const b = frame(Buffer.alloc(8000, 2));
    const stream = Buffer.concat([a, b]);
    const dec = new FrameDecoder(1 << 20);
    expect(dec.push(stream.subarray(0, 5000))).toEqual([]);
    const [bodyA, ...none] = dec.push(stream.subarray(5000, 15000));
    expect(none).toEqual([]);
    // A fresh buffer of exactly A's frame: B's first bytes were not copied along.
    expect(bodyA?.buffer.byteLength).toBe(a.length);
    expect(bodyA?.every((x) => x === 1)).toBe(true);
    const [bodyB] = dec.push(stream.subarray(15000));
    expect(bodyB?.buffer.byteLength).toBe(b.length);
    expect(bodyB?.every((x) => x === 2)).toBe(true);
    const whole = frame(Buffer.alloc(8000, 3));
    const [bodyC] = dec.push(whole);
    expect(bodyC?.buffer).toBe(whole.buffer);
    expect(dec.pendingBytes()).toBe(0);
  });

  it('rejects a frame longer than the limit', () => {
    const dec = new FrameDecoder(10);
    expect(() => dec.push(frame(new Uint8Array(11)))).toThrow(InvalidArgumentError);
  });
});
