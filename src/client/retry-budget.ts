/**
 * Bounded retries: at most `maxAttempts` tries within `retryDeadlineMs`, with exponential
 * backoff and jitter between them (half fixed, half random, so that clients that failed together
 * do not retry together, and every retry still waits a little).
 */
import { RetriesExhaustedError } from '../errors.js';

export interface RetryPolicy {
  maxAttempts: number;
  retryDeadlineMs: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 10,
  retryDeadlineMs: 15_000,
  baseBackoffMs: 50,
  maxBackoffMs: 1_000,
};

export class RetryBudget {
  private attempts = 0;
  private readonly startedMs = Date.now();
  /** Made lazily: an Error per call (its stack capture) showed in the client's CPU profile. */
  private lastError: unknown;

  constructor(
    private readonly operation: string,
    private readonly policy: RetryPolicy,
    private readonly random: () => number,
  ) {}

  /** Counts one more attempt; false when the attempts or the time are used up. */
  next(): boolean {
    if (this.attempts >= this.policy.maxAttempts || this.remainingMs() <= 0) return false;
    this.attempts++;
    return true;
  }

  remainingMs(): number {
    return this.startedMs + this.policy.retryDeadlineMs - Date.now();
  }

  /** Records a retryable failure and waits the backoff before the next attempt (if any is left). */
  async failed(err: unknown): Promise<void> {
    this.lastError = err;
    if (this.attempts >= this.policy.maxAttempts) return;
    const capMs = Math.min(this.policy.maxBackoffMs, this.policy.baseBackoffMs * 2 ** (this.attempts - 1));
    const delayMs = Math.min(this.remainingMs(), capMs / 2 + (this.random() * capMs) / 2);
    // Not unref'd on purpose: a caller is awaiting this retry, the process must not exit under it.
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  }

  exhausted(): RetriesExhaustedError {
    return new RetriesExhaustedError(this.operation, this.attempts, Date.now() - this.startedMs, this.lastError ?? new Error('no attempt was made'));
  }
}
