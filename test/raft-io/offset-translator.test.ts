import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OffsetTranslator } from '../../src/raft/offset-translator.js';

/** The obvious model: a list of (index, isControl) with offsets counted by walking it. */
function model(startIndex: number, startOffset: number, kinds: boolean[]) {
  const offsetOf = new Map<number, number>();
  const indexOf = new Map<number, number>();
  let next = startOffset;
  kinds.forEach((isControl, i) => {
    if (isControl) return;
    offsetOf.set(startIndex + i, next);
    indexOf.set(next, startIndex + i);
    next++;
  });
  return { offsetOf, indexOf, next };
}

describe('OffsetTranslator', () => {
  it('agrees with a walking model in both directions, through truncation and start moves', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.array(fc.boolean(), { maxLength: 200 }),
        fc.nat(),
        fc.nat(),
        (startIndex, startOffset, kinds, cutSeed, advanceSeed) => {
          const t = new OffsetTranslator(startIndex, startOffset);
          kinds.forEach((c, i) => t.push(startIndex + i, c));
          // truncate a suffix, then re-append different kinds
          const cut = startIndex + (kinds.length === 0 ? 0 : cutSeed % (kinds.length + 1));
          t.truncateSuffix(cut);
          const kept = kinds.slice(0, cut - startIndex);
          const extra = kinds.map((c) => !c).slice(0, 20);
          extra.forEach((c, i) => t.push(cut + i, c));
          let all = [...kept, ...extra];
          // move the start forward (retention)
          const adv = all.length === 0 ? 0 : advanceSeed % (all.length + 1);
          const sIndex = startIndex + adv;
          const sOffset = t.nextOffsetAt(sIndex);
          t.advanceStart(sIndex);
          all = all.slice(adv);
          const m = model(sIndex, sOffset, all);
          for (const [index, offset] of m.offsetOf) {
            expect(t.offsetOf(index)).toBe(offset);
            expect(t.indexOf(offset)).toBe(index);
          }
          all.forEach((c, i) => expect(t.isControl(sIndex + i)).toBe(c));
          expect(t.indexOf(m.next)).toBeUndefined();
          expect(t.indexOf(sOffset - 1)).toBeUndefined();
          expect(t.nextOffsetAt(t.nextIndex())).toBe(m.next);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reset starts over at a new base', () => {
    const t = new OffsetTranslator(1, 0);
    t.push(1, true);
    t.push(2, false);
    t.reset(100, 57);
    t.push(100, false);
    expect(t.offsetOf(100)).toBe(57);
    expect(t.indexOf(57)).toBe(100);
    expect(t.indexOf(0)).toBeUndefined();
  });
});
