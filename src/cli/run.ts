// Runs the CLI when executed directly (used by `tsx src/cli/run.ts` in tests and development).
import { main } from './main.js';

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`replog: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
