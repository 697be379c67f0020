/**
 * An AbortSignal with a deadline of its own, also aborted by a parent signal (a cancelled call).
 * Unlike AbortSignal.timeout(), its timer is cleared by dispose() as soon as the wait is over, so
 * thousands of short waits with long deadlines leave no timers behind.
 */
export interface DeadlineSignal {
  readonly signal: AbortSignal;
  /** Whether the deadline (not the parent) aborted it. */
  expired(): boolean;
  /** Clears the timer and detaches from the parent. Idempotent. */
  dispose(): void;
}

/** setTimeout fires at once for anything longer (or Infinity): clamp to its maximum, ~24.8 days. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Aborts after `timeoutMs` with `reason()`, or when `parent` aborts (with its reason). */
export function deadlineSignal(timeoutMs: number, reason: () => Error, parent?: AbortSignal): DeadlineSignal {
  const ac = new AbortController();
  let expired = false;
  const onParent = (): void => ac.abort(parent?.reason);
  const timer = setTimeout(() => {
    expired = true;
    ac.abort(reason());
  }, Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS));
  timer.unref();
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  return {
    signal: ac.signal,
    expired: () => expired,
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}
