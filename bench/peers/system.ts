/** What the peer benchmark needs of each system it measures. */
export interface PeerSystem {
  /** Row label, e.g. "NATS JetStream R3". */
  readonly name: string;
  /** The replog row this peer is compared with (undefined for replog rows). */
  readonly comparedWith: string | undefined;
  /** Starts the servers (temp dirs, 127.0.0.1) and waits until they accept writes. */
  start(): Promise<void>;
  /** A fresh place to write for one repetition (stream, key prefix, start offset), warmed up. */
  beginRep(rep: number): Promise<void>;
  /** Appends one record and resolves when the system acknowledges it. */
  produce(value: Buffer): Promise<void>;
  /** Every record of the current repetition, in order; the caller stops after `count`. */
  readBack(count: number, signal: AbortSignal): AsyncIterable<unknown>;
  /** Closes clients and stops every server by PID. Idempotent. */
  stop(): Promise<void>;
}
