/**
 * Identities an operator removed (`replog admin remove`) while they may still be alive in gossip.
 * The leader's reconciler adds every alive gossip member it does not find in the configuration;
 * without this list it would add a removed node straight back. Every node keeps the list and
 * spreads it through its gossip tags, so a new leader knows it too.
 *
 * An entry is `(key, index)`: `key` is the identity's name plus the first 8 hex digits of its
 * data-dir uuid (a wiped node has a new uuid, hence a new key: it is a new node and may join);
 * `index` is the Raft index of the removal entry (or the log end when it was proposed). An entry
 * is dropped (and never taken back from a stale tag) once this node sees the identity in the
 * configuration with its commit index at or past `index`: it was added back (add-learner)
 * after the removal. The list is bounded: the oldest entries go first.
 */
import type { ClusterConfig, NodeId } from '../raft/core/types.js';

/** Entries kept (and published in the gossip tag: about 25 bytes each). */
export const removedMembersMax = 6;
/** Dropped keys remembered so a stale tag cannot bring them back. */
const droppedMax = 64;
const uuidPrefixChars = 8;

/** The short form of a NodeId used in tags: `name/uuid8`. */
export function removalKey(id: NodeId): string {
  const slash = id.indexOf('/');
  return slash < 0 ? id : id.slice(0, slash + 1 + uuidPrefixChars);
}

export class RemovedMembers {
  private readonly entries = new Map<string, number>();
  private readonly dropped = new Map<string, number>();

  /** Records a removal of `id` at Raft index `index`. */
  add(id: NodeId, index: number): void {
    const key = removalKey(id);
    this.dropped.delete(key);
    this.put(key, index);
  }

  /** Forgets `id` (an operator added it back). */
  delete(id: NodeId): void {
    const key = removalKey(id);
    const index = this.entries.get(key);
    this.entries.delete(key);
    if (index !== undefined) this.remember(key, index);
  }

  has(id: NodeId): boolean {
    return this.entries.has(removalKey(id));
  }

  /** Merges a tag value from another member; malformed items are ignored. */
  merge(tag: string | undefined): boolean {
    if (tag === undefined || tag === '') return false;
    let changed = false;
    for (const item of tag.split(',').slice(0, removedMembersMax)) {
      const at = item.lastIndexOf('@');
      const key = item.slice(0, at);
      const index = Number(item.slice(at + 1));
      if (at <= 0 || !Number.isSafeInteger(index) || index < 0) continue;
      if ((this.dropped.get(key) ?? -1) >= index || (this.entries.get(key) ?? -1) >= index) continue;
      this.put(key, index);
      changed = true;
    }
    return changed;
  }

  /**
   * Drops entries whose identity is a member again as of a commit index at or past the removal.
   * Returns whether anything changed.
   */
  prune(config: ClusterConfig, commit: number): boolean {
    const members = new Set([...config.voters, ...config.learners].map(removalKey));
    let changed = false;
    for (const [key, index] of this.entries) {
      if (members.has(key) && commit >= index) {
        this.entries.delete(key);
        this.remember(key, index);
        changed = true;
      }
    }
    return changed;
  }

  /** The tag value: `key@index,...`, newest first, at most `maxChars` long (older entries left out). */
  encode(maxChars: number): string {
    let out = '';
    for (const [k, i] of [...this.entries].sort((a, b) => b[1] - a[1])) {
      const next = out === '' ? `${k}@${i}` : `${out},${k}@${i}`;
      if (next.length > maxChars) break;
      out = next;
    }
    return out;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  private put(key: string, index: number): void {
    this.entries.set(key, Math.max(index, this.entries.get(key) ?? 0));
    while (this.entries.size > removedMembersMax) {
      let oldest: [string, number] | undefined;
      for (const e of this.entries) if (!oldest || e[1] < oldest[1]) oldest = e;
      if (!oldest) break;
      this.entries.delete(oldest[0]);
    }
  }

  private remember(key: string, index: number): void {
    this.dropped.set(key, Math.max(index, this.dropped.get(key) ?? 0));
    if (this.dropped.size > droppedMax) {
      const first = this.dropped.keys().next().value;
      if (first !== undefined) this.dropped.delete(first);
    }
  }
}
