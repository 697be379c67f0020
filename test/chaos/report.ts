/** How a chaos run is printed (the long run's CLI and the CI test). */
import { formatSummary } from './checker.js';
import type { ChaosReport } from './run-chaos.js';

export function printReport(r: ChaosReport): void {
  console.log(`\nchaos run: seed ${r.seed}, ${r.network} network, run dir ${r.dir}`);
  const refused = (k: string): string => (r.refused[k] ? ` (${r.refused[k]} refused)` : '');
  console.log(`faults injected: ${Object.entries(r.faults).map(([k, n]) => `${k} ${n}${refused(k)}`).join(', ') || 'none'}`);
  console.log(formatSummary(r.result.summary));
  if (r.crashes.length > 0) console.log(`agents that exited by themselves: ${r.crashes.join('; ')}`);
  if (!r.result.ok) {
    console.log(`\nFAILED (seed ${r.seed}); history: ${r.historyFiles.join(' ')}`);
    for (const v of r.result.violations) console.log(`  ${v}`);
  }
}
