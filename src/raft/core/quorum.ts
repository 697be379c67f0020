/** Majority arithmetic over the voters of one configuration. */
import type { NodeId } from './types.js';

export type VoteResult = 'won' | 'lost' | 'pending';

/** Size of a majority of `n` voters. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

const scratch: number[] = [];

/**
 * The largest index that a majority of voters has reached, given each voter's index. With no
 * voters it is 0 (nothing can commit).
 */
export function quorumIndex(voters: readonly NodeId[], indexOf: (id: NodeId) => number): number {
  const n = voters.length;
  if (n === 0) return 0;
  scratch.length = n;
  for (let i = 0; i < n; i++) scratch[i] = indexOf(voters[i] as NodeId);
  // Insertion sort, descending: clusters are small and this allocates nothing.
  for (let i = 1; i < n; i++) {
    const v = scratch[i] as number;
    let j = i - 1;
    while (j >= 0 && (scratch[j] as number) < v) {
      scratch[j + 1] = scratch[j] as number;
      j--;
    }
    scratch[j + 1] = v;
  }
  return scratch[majority(n) - 1] as number;
}

/** Outcome of an election given the votes received so far (only voters' votes count). */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return 'lost';
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const need = majority(voters.length);
  if (granted >= need) return 'won';
  if (voters.length - rejected < need) return 'lost';
  return 'pending';
}
