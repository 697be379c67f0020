import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/errors.js';
import { EntryType, type Proposal } from '../../src/raft/core/types.js';
import { Proposals } from '../../src/raft/proposals.js';

const data = (bytes: number): Proposal => ({ type: EntryType.Data, data: Buffer.alloc(bytes) });

/** Settles `p` without letting a rejection go unhandled; returns what it settled to. */
function outcome(p: Promise<number>): () => Promise<PromiseSettledResult<number>> {
  const settled = Promise.allSettled([p]).then(([r]) => r);
  return () => settled;
}

describe('Proposals', () => {
  it('hands queued proposals to the core as one batch and answers each with its own first index', async () => {
    const ps = new Proposals(1 << 20);
    const a = ps.enqueue([data(10), data(10)]);
    const b = ps.enqueue([data(10)]);
    expect(ps.hasQueued).toBe(true);
    const batches: number[] = [];
    ps.flush((all) => {
      batches.push(all.length);
      return { index: 7, term: 3 };
    });
    expect(batches).toEqual([3]);
    expect(ps.hasQueued).toBe(false);
    ps.settle(8, () => 3); // a's entries 7..8 are committed, b's 9 is not
    expect(await a).toBe(7);
    const later = outcome(b);
    ps.settle(9, () => 3);
    expect(await later()).toEqual({ status: 'fulfilled', value: 9 });
  });

  it('rule 6: an entry committed with another term than proposed is an unknown outcome', async () => {
    const ps = new Proposals(1 << 20);
    const p = outcome(ps.enqueue([data(1)]));
    ps.flush(() => ({ index: 5, term: 2 }));
    ps.settle(5, () => 3);
    const r = await p();
    expect(r.status).toBe('rejected');
    if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(UnavailableError);
  });

  it('refuses data beyond the limit until committed data frees it', async () => {
    const ps = new Proposals(100);
    const first = ps.enqueue([data(60)]);
    await expect(ps.enqueue([data(60)])).rejects.toBeInstanceOf(UnavailableError);
    ps.flush(() => ({ index: 1, term: 1 }));
    await expect(ps.enqueue([data(60)])).rejects.toBeInstanceOf(UnavailableError);
    ps.settle(1, () => 1);
    expect(await first).toBe(1);
    const again = outcome(ps.enqueue([data(60)]));
    ps.failAll(new UnavailableError('x'));
    expect((await again()).status).toBe('rejected');
    // failAll released the bytes too.
    const fresh = outcome(ps.enqueue([data(100)]));
    ps.flush(() => ({ index: 2, term: 1 }));
    ps.settle(2, () => 1);
    expect(await fresh()).toEqual({ status: 'fulfilled', value: 2 });
  });

  it('a core that refuses the batch rejects every proposal in it and releases their bytes', async () => {
    const ps = new Proposals(100);
    const a = outcome(ps.enqueue([data(50)]));
    const b = outcome(ps.enqueue([data(50)]));
    ps.flush(() => {
      throw new UnavailableError('not the leader');
    });
    for (const r of [await a(), await b()]) expect(r.status).toBe('rejected');
    const c = outcome(ps.enqueue([data(100)]));
    ps.flush(() => ({ index: 1, term: 1 }));
    ps.settle(1, () => 1);
    expect((await c()).status).toBe('fulfilled');
  });

  it('failAll gives pending proposals the error chosen by their index, queued ones the common error', async () => {
    const ps = new Proposals(1 << 20);
    const written = outcome(ps.enqueue([data(1)]));
    ps.flush(() => ({ index: 4, term: 1 }));
    const notWritten = outcome(ps.enqueue([data(1)]));
    ps.flush(() => ({ index: 5, term: 1 }));
    const queued = outcome(ps.enqueue([data(1)]));
    const config = outcome(ps.awaitEntry(6, 1));
    const refused = new Error('disk full');
    const unknown = new UnavailableError('unknown');
    ps.failAll(refused, (index) => (index > 4 ? refused : unknown));
    const reason = async (o: () => Promise<PromiseSettledResult<number>>): Promise<unknown> => {
      const r = await o();
      return r.status === 'rejected' ? r.reason : undefined;
    };
    expect(await reason(written)).toBe(unknown);
    expect(await reason(notWritten)).toBe(refused);
    expect(await reason(config)).toBe(refused);
    expect(await reason(queued)).toBe(refused);
  });
});
