// Runs the CLI when executed directly (used by `tsx src/cli/run.ts` in tests and development).
import { errorMessage } from '../errors.js';
import { main } from './main.js';

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`replog: ${errorMessage(err)}\n`);
  process.exitCode = 1;
});
