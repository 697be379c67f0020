/**
 * Helpers of the security suite (in-process nodes come from test/helpers/api-server.ts): a log
 * that makes records up on read (so a test can offer a client hundreds of MB without holding
 * them), raw sockets, and memory readings after a forced GC.
 */
import { connect, type Socket } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { MemoryReplicatedLog } from '../../src/server/memory-replicated-log.js';
import type { ConsumedRecord, ReadBatchLimits } from '../../src/replicated-log.js';

/**
 * `count` records of `recordBytes` each, made on every read (value bytes = offset & 0xff) and
 * never stored; `readBytes` counts what the server has read so far.
 */
export class SyntheticLog extends MemoryReplicatedLog {
  readBytes = 0;

  constructor(
    private readonly count: number,
    private readonly recordBytes: number,
  ) {
    super();
  }

  override readBatch(from: number, limits: ReadBatchLimits): Promise<ConsumedRecord[]> {
    const out: ConsumedRecord[] = [];
    let bytes = 0;
    for (let o = from; o < this.count && out.length < limits.maxRecords; o++) {
      if (out.length > 0 && bytes + this.recordBytes > limits.maxBytes) break;
      out.push(this.make(o));
      bytes += this.recordBytes;
    }
    this.readBytes += bytes;
    return Promise.resolve(out);
  }

  override read(offset: number): Promise<ConsumedRecord> {
    return Promise.resolve(this.make(offset));
  }

  override highestOffset(): number {
    return this.count - 1;
  }

  private make(offset: number): ConsumedRecord {
    return { offset, value: Buffer.alloc(this.recordBytes, offset & 0xff), term: 1 };
  }
}

/** A plain TCP connection to the node; `closed()` turns true when the server hangs up. */
export function openSocket(node: { host: string; port: number }): Promise<{ sock: Socket; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    let closed = false;
    const sock = connect(node.port, node.host, () => resolve({ sock, closed: () => closed }));
    sock.on('error', () => undefined);
    sock.on('close', () => (closed = true));
    sock.once('error', reject);
  });
}

let gcFn: (() => void) | undefined;

/** Heap plus off-heap (Buffer) bytes of this process after a full GC. */
export function liveBytes(): number {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

export const MiB = 1024 * 1024;
