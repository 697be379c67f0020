import { Command } from 'commander';
import { VERSION } from '../version.js';
import { adminCommand } from './admin-command.js';
import { agentCommand } from './agent-command.js';
import { benchCommand } from './bench-command.js';
import { clusterCommand } from './cluster-command.js';
import { consumeCommand } from './consume-command.js';
import { produceCommand } from './produce-command.js';
import { serversCommand } from './servers-command.js';
import { statusCommand } from './status-command.js';

/** Builds the `replog` command tree. Subcommands live in their own files under src/cli/. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('replog')
    .description('replog: a distributed, replicated, segmented commit log')
    .version(VERSION, '-v, --version', 'print the version and exit')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  program.addCommand(agentCommand());
  program.addCommand(adminCommand());
  program.addCommand(benchCommand());
  program.addCommand(clusterCommand());
  program.addCommand(produceCommand());
  program.addCommand(consumeCommand());
  program.addCommand(serversCommand());
  program.addCommand(statusCommand());
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
