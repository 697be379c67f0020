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

  it('rejects a frame longer than the limit', () => {
    const dec = new FrameDecoder(10);
    expect(() => dec.push(frame(new Uint8Array(11)))).toThrow(InvalidArgumentError);
  });
});
