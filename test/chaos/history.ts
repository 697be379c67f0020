/**
 * The history of a chaos run: one JSON object per line (JSONL), written by the client workers
 * (produces and consumer reads) and by the runner (faults, leader observations). Times are
 * milliseconds since the epoch (each process's own clock; all processes run on one machine).
 *
 * A produce is `invoke` then exactly one of `ok` (acknowledged at `offset`), `fail` (provably
 * never appended: the request never left the client, or the server refused it for good) or
 * `info` (outcome unknown: it may or may not be appended). A consumer logs every record it got as
 * `read`, and `resume` when its stream broke and it reconnects at `offset`.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

export type HistoryEvent =
  | { t: 'invoke'; proc: string; value: string; time: number }
  | { t: 'ok'; proc: string; value: string; offset: number; time: number }
  | { t: 'fail'; proc: string; value: string; error: string; time: number }
  | { t: 'info'; proc: string; value: string; error: string; time: number }
  | { t: 'read'; proc: string; offset: number; value: string; time: number }
  | { t: 'resume'; proc: string; offset: number; error: string; time: number }
  | { t: 'fault'; kind: string; detail: string; time: number }
  | { t: 'heal'; kind: string; detail: string; time: number }
  | { t: 'leader'; node: string; time: number };

/** A JSONL history file being written (appends are buffered by the stream; close() flushes). */
export class HistoryWriter {
  private readonly out: WriteStream;
  private closed = false;

  constructor(readonly path: string) {
    this.out = createWriteStream(path, { flags: 'a' });
  }

  write(event: HistoryEvent): void {
    if (!this.closed) this.out.write(`${JSON.stringify(event)}\n`);
  }

  /** Flushes and closes the file. Idempotent. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}

/** Reads every event of the given JSONL files (a torn last line of a killed writer is skipped). */
export async function readHistory(paths: readonly string[]): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  for (const path of paths) {
    const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.length === 0) continue;
      try {
        events.push(JSON.parse(line) as HistoryEvent);
      } catch {
        // the last line of a writer killed mid-write
      }
    }
  }
  return events;
}
