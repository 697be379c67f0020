/**
 * Which fault comes next: a seeded deck. The `first` kinds are dealt first (in a seeded order),
 * then every available kind once per round, each round shuffled anew, so that a run of N rounds
 * injects every kind N times and a short run still varies with the seed. Pure: the same seed and
 * kinds give the same sequence.
 */
import { assert } from '../../src/errors.js';
import type { Prng } from '../../src/util/prng.js';

export class FaultDeck<K extends string> {
  private deck: K[];

  constructor(
    private readonly rng: Prng,
    private readonly kinds: readonly K[],
    first: readonly K[] = [],
  ) {
    assert(kinds.length > 0, 'a fault deck needs at least one kind');
    this.deck = shuffled(rng, [...new Set(first)].filter((k) => kinds.includes(k)));
  }

  next(): K {
    if (this.deck.length === 0) this.deck = shuffled(this.rng, this.kinds);
    const kind = this.deck.shift();
    assert(kind !== undefined, 'a refilled deck is never empty');
    return kind;
  }
}

/** Fisher-Yates with the seeded PRNG. */
export function shuffled<T>(rng: Prng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
