import { Command } from 'commander';
import { VERSION } from '../version.js';

/** Builds the `replog` command tree. Subcommands live in their own files under src/cli/. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('replog')
    .description('replog: a distributed, replicated, segmented commit log')
    .version(VERSION, '-v, --version', 'print the version and exit')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  if (argv.length <= 2) {
    program.outputHelp();
    return;
  }
  await program.parseAsync(argv);
}
