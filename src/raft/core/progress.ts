/**
 * What the leader knows about one follower's log, and the flow control of AppendEntries to it
 * (the model is etcd's tracker.Progress):
 * - probe: one AppendEntries at a time until the follower's match point is found;
 * - replicate: pipelined AppendEntries, bounded by the inflight window (messages and bytes);
 * - snapshot: an InstallSnapshot is outstanding; nothing else is sent until it is acknowledged.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** A bounded ring of in-flight AppendEntries, each named by its last index and its data bytes. */
export class Inflights {
  private readonly indexes: Float64Array;
  private readonly sizes: Float64Array;
  private start = 0;
  count = 0;
  bytes = 0;

  constructor(
    readonly maxMsgs: number,
    readonly maxBytes: number,
  ) {
    this.indexes = new Float64Array(Math.max(1, maxMsgs));
    this.sizes = new Float64Array(Math.max(1, maxMsgs));
  }

  full(): boolean {
    return this.count >= this.maxMsgs || this.bytes >= this.maxBytes;
  }

  add(lastIndex: number, bytes: number): void {
    const slot = (this.start + this.count) % this.indexes.length;
    this.indexes[slot] = lastIndex;
    this.sizes[slot] = bytes;
    this.count++;
    this.bytes += bytes;
  }

  /** Frees every message whose last index is <= index (the follower acknowledged them). */
  freeLE(index: number): void {
    while (this.count > 0 && (this.indexes[this.start] as number) <= index) {
      this.bytes -= this.sizes[this.start] as number;
      this.start = (this.start + 1) % this.indexes.length;
      this.count--;
    }
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
    this.bytes = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an AppendEntries is outstanding, wait for its answer or a heartbeat reply. */
  probeSent = false;
  /** Index of the snapshot being sent (snapshot state). */
  pendingSnapshot = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /** Highest ReadIndex round this follower confirmed. */
  readAck = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflightMsgs: number, maxInflightBytes: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
    } else {
      this.next = this.match + 1;
    }
    this.resetState('probe');
  }

  becomeReplicate(): void {
    this.next = this.match + 1;
    this.resetState('replicate');
  }

  becomeSnapshot(index: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = index;
  }

  /** Records an acknowledgement up to `index`; false when it says nothing new. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Sending is paused: a probe is outstanding, the window is full, or a snapshot is in flight. */
  paused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  /** Bookkeeping after sending entries up to `lastIndex` (`bytes` of data). */
  sentEntries(count: number, lastIndex: number, bytes: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }
}
