/**
 * The leader's refusals (dedup-appender.ts): a gap or an unknown producer is refused only after
 * the requests before it had time to arrive AND the leader confirmed its leadership; a leader that
 * cannot confirm answers UNAVAILABLE (retry), never a refusal that would make the client renumber
 * records whose original a newer leader may hold.
 */
import { describe, expect, it } from 'vitest';
import { ProducerSequenceError, UnavailableError } from '../../src/errors.js';
import type { Proposal } from '../../src/raft/core/types.js';
import { IdempotentAppender } from '../../src/raft/dedup-appender.js';
import { ProducerTable } from '../../src/raft/dedup-state.js';
import { DedupTracker } from '../../src/raft/dedup-tracker.js';

function appender(confirm: () => Promise<void>): { app: IdempotentAppender; proposed: Proposal[][]; confirms: () => number } {
  const proposed: Proposal[][] = [];
  let confirms = 0;
  let next = 1;
  const app = new IdempotentAppender({
    tracker: new DedupTracker(new ProducerTable({ expiryEntries: 1000, windowRuns: 16 })),
    propose: (proposals) => {
      proposed.push(proposals);
      const first = next;
      next += proposals.length;
      return Promise.resolve(first);
    },
    offsetOf: (index) => index - 1,
    waitForCommit: () => Promise.resolve(),
    waitMs: 1000,
    gapWaitMs: 20,
    confirmLeader: () => {
      confirms++;
      return confirm();
    },
  });
  return { app, proposed, confirms: () => confirms };
}

const v = (s: string): Uint8Array[] => [Buffer.from(s)];

describe('IdempotentAppender refusals', () => {
  it('refuses an unknown producer only after waiting and confirming leadership', async () => {
    const { app, proposed, confirms } = appender(() => Promise.resolve());
    const err = await app.append(v('a'), { id: 'p', sequence: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProducerSequenceError);
    expect((err as ProducerSequenceError).problem).toBe('unknown-producer');
    expect(confirms()).toBe(1);
    expect(proposed).toHaveLength(0);
  });

  it('answers UNAVAILABLE instead of a refusal when leadership cannot be confirmed', async () => {
    const { app, proposed } = appender(() => Promise.reject(new UnavailableError('lost the quorum')));
    await app.append(v('a'), { id: 'p', sequence: 0 });
    const err = await app.append(v('c'), { id: 'p', sequence: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err).not.toBeInstanceOf(ProducerSequenceError);
    expect(proposed).toHaveLength(1);
  });

  it('a request that arrives before the one it follows waits for it instead of being refused', async () => {
    const { app, proposed, confirms } = appender(() => Promise.resolve());
    const early = app.append(v('second'), { id: 'p', sequence: 1 });
    const first = await app.append(v('first'), { id: 'p', sequence: 0 });
    expect(first).toEqual({ offset: 0, duplicate: false });
    expect(await early).toEqual({ offset: 1, duplicate: false });
    expect(proposed).toHaveLength(2);
    expect(confirms()).toBe(0);
  });
});
