/**
 * A safety or liveness property the simulator found broken. It names the rule, the seed and the
 * step, so the run can be replayed with `npm run sim -- --seed N --trace`.
 */

/** Where the simulation is; the checkers read it when they report a violation. */
export interface SimClock {
  seed: number;
  step: number;
  nowMs: number;
}

export class SimViolation extends Error {
  constructor(
    readonly rule: string,
    readonly detail: string,
    readonly seed: number,
    readonly step: number,
    readonly nowMs: number,
  ) {
    super(`${rule} violated at seed=${seed} step=${step} t=${nowMs}ms: ${detail}`);
    this.name = 'SimViolation';
  }
}

export function violation(clock: SimClock, rule: string, detail: string): SimViolation {
  return new SimViolation(rule, detail, clock.seed, clock.step, clock.nowMs);
}
