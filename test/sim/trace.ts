import type { Entry, Message, Ready } from '../../src/raft/core/types.js';

/** Receives one readable line per simulator event; absent when tracing is off. */
export type TraceSink = (line: string) => void;

function entriesSummary(entries: readonly Entry[]): string {
  const first = entries[0];
  const last = entries[entries.length - 1];
  if (first === undefined || last === undefined) return '[]';
  if (first === last) return `[${first.index}/${first.term}]`;
  return `[${first.index}/${first.term}..${last.index}/${last.term}]`;
}

/** One message as a short line: `AppendEntries t=3 prev=4/2 ents=[5/3..7/3] c=4`. */
export function formatMessage(m: Message): string {
  const head = `${m.type} ${m.from}->${m.to} t=${m.term}`;
  switch (m.type) {
    case 'AppendEntries':
      return `${head} prev=${m.prevIndex}/${m.prevTerm} ents=${entriesSummary(m.entries)} c=${m.commit}`;
    case 'AppendEntriesResponse':
      return `${head} ok=${m.success} i=${m.index} hint=${m.conflictIndex}/${m.conflictTerm}`;
    case 'RequestVote':
      return `${head} pre=${m.pre} last=${m.lastIndex}/${m.lastTerm}${m.transfer ? ' transfer' : ''}`;
    case 'RequestVoteResponse':
      return `${head} pre=${m.pre} granted=${m.granted}`;
    case 'Heartbeat':
      return `${head} c=${m.commit} ctx=${m.readContext}`;
    case 'HeartbeatResponse':
      return `${head} ctx=${m.readContext}`;
    case 'InstallSnapshot':
      return `${head} snap=${m.snapshot.index}/${m.snapshot.term} voters=${m.snapshot.config.voters.join(',')}`;
    case 'TimeoutNow':
      return head;
  }
}

/** What a persisted Ready held: `snap=4/2 ents=[5/3..7/3] hs=3/n1/4 commit=4`. */
export function formatReady(r: Ready): string {
  const parts: string[] = [];
  if (r.snapshot) parts.push(`snap=${r.snapshot.index}/${r.snapshot.term}`);
  if (r.entries.length > 0) parts.push(`ents=${entriesSummary(r.entries)}`);
  if (r.hardState) parts.push(`hs=term:${r.hardState.term},vote:${r.hardState.vote ?? '-'},commit:${r.hardState.commit}`);
  parts.push(`commit=${r.commitIndex}`);
  return parts.join(' ');
}
