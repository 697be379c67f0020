import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planRetention, type RetentionPolicy, type RetentionSegment } from '../../src/agent/retention-policy.js';

/** Segments of `sizes` bytes, 10 entries each, from index 1; ages as given (undefined = unknown). */
function segments(sizes: number[], ages: (number | undefined)[] = []): RetentionSegment[] {
  return sizes.map((sizeBytes, i) => ({ firstIndex: 1 + i * 10, lastIndex: 10 + i * 10, sizeBytes, lastAppendMs: ages[i] }));
}

const policy = (p: Partial<RetentionPolicy>): RetentionPolicy => ({ retentionBytes: 0, retentionMs: 0, maxSegmentsPerPass: 16, ...p });
const now = 1_000_000;

describe('planRetention', () => {
  const cases: { name: string; segs: RetentionSegment[]; limit: number; p: RetentionPolicy; want: { upTo: number; segments: number; bytes: number } | undefined }[] = [
    { name: 'both limits off: nothing', segs: segments([100, 100, 100]), limit: 30, p: policy({}), want: undefined },
    { name: 'under the size limit: nothing', segs: segments([100, 100, 100]), limit: 30, p: policy({ retentionBytes: 300 }), want: undefined },
    { name: 'over the size limit: oldest first until under', segs: segments([100, 100, 100, 100]), limit: 40, p: policy({ retentionBytes: 250 }), want: { upTo: 20, segments: 2, bytes: 200 } },
    { name: 'never the active segment', segs: segments([100, 100, 100]), limit: 30, p: policy({ retentionBytes: 1 }), want: { upTo: 20, segments: 2, bytes: 200 } },
    { name: 'a single (active) segment never goes', segs: segments([5000]), limit: 10, p: policy({ retentionBytes: 1, retentionMs: 1 }), want: undefined },
    { name: 'never past the limit index (commit)', segs: segments([100, 100, 100, 100]), limit: 25, p: policy({ retentionBytes: 1 }), want: { upTo: 20, segments: 2, bytes: 200 } },
    { name: 'limit inside the first segment: nothing', segs: segments([100, 100]), limit: 9, p: policy({ retentionBytes: 1 }), want: undefined },
    { name: 'by age: segments last appended before now - retentionMs', segs: segments([1, 1, 1, 1], [now - 5000, now - 2000, now - 500, now]), limit: 40, p: policy({ retentionMs: 1000 }), want: { upTo: 20, segments: 2, bytes: 2 } },
    { name: 'by age: an unknown age counts as new', segs: segments([1, 1, 1], [now - 5000, undefined, now - 5000]), limit: 30, p: policy({ retentionMs: 1000 }), want: { upTo: 10, segments: 1, bytes: 1 } },
    { name: 'only a prefix: a new segment stops the pass', segs: segments([1, 1, 1], [now, now - 5000, now]), limit: 30, p: policy({ retentionMs: 1000 }), want: undefined },
    { name: 'either rule drops a segment', segs: segments([100, 100, 100, 100], [now - 5000, now, now, now]), limit: 40, p: policy({ retentionMs: 1000, retentionBytes: 350 }), want: { upTo: 10, segments: 1, bytes: 100 } },
    { name: 'bounded work per pass', segs: segments([1, 1, 1, 1, 1, 1]), limit: 60, p: policy({ retentionBytes: 1, maxSegmentsPerPass: 2 }), want: { upTo: 20, segments: 2, bytes: 2 } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(planRetention({ segments: c.segs, limitIndex: c.limit, nowMs: now }, c.p)).toEqual(c.want);
    });
  }

  it('holds its invariants for any segments, limits and policy', () => {
    const arb = fc.record({
      sizes: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 20 }),
      ages: fc.array(fc.option(fc.integer({ min: 0, max: 2 * now }), { nil: undefined }), { maxLength: 20 }),
      limit: fc.integer({ min: 0, max: 220 }),
      retentionBytes: fc.integer({ min: 0, max: 20_000 }),
      retentionMs: fc.integer({ min: 0, max: now }),
      maxSegmentsPerPass: fc.integer({ min: 1, max: 8 }),
    });
    fc.assert(
      fc.property(arb, (a) => {
        const segs = segments(a.sizes, a.ages);
        const p = policy({ retentionBytes: a.retentionBytes, retentionMs: a.retentionMs, maxSegmentsPerPass: a.maxSegmentsPerPass });
        const plan = planRetention({ segments: segs, limitIndex: a.limit, nowMs: now }, p);
        if (!plan) return;
        const dropped = segs.slice(0, plan.segments);
        expect(plan.upTo).toBeLessThanOrEqual(a.limit);
        expect(plan.segments).toBeLessThan(segs.length);
        expect(plan.segments).toBeLessThanOrEqual(a.maxSegmentsPerPass);
        expect(plan.upTo).toBe(dropped[dropped.length - 1]?.lastIndex);
        expect(plan.bytes).toBe(dropped.reduce((n, s) => n + s.sizeBytes, 0));
      }),
      { seed: 11, numRuns: 200 },
    );
  });
});
