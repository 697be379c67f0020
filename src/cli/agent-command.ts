/**
 * `replog agent`: runs one node until SIGINT/SIGTERM, then shuts down cleanly (stop accepting,
 * finish in-flight calls, sync and close the log) and exits 0. A signal during start-up takes
 * effect once the node is up; a second signal exits at once.
 */
import { Command } from 'commander';
import { Agent } from '../agent/agent.js';
import { flagName, loadAgentConfig, type AgentOption } from '../config.js';
import { defaultText, optionDocs } from '../config-docs.js';
import { createLogger } from '../logger.js';
import { mallocTunablesAdvice, runtimeGlibcVersion } from './malloc-tunables.js';

export function agentCommand(): Command {
  const cmd = new Command('agent')
    .description('run one replog node')
    .option('--config-file <file>', 'YAML file of options (same names as the flags, without --)');
  for (const key of Object.keys(optionDocs) as AgentOption[]) {
    const doc = optionDocs[key];
    const dflt = defaultText(key);
    const suffix = dflt === 'none' || dflt === 'false' ? '' : dflt.startsWith('(') ? ` ${dflt}` : ` (default: ${dflt})`;
    cmd.option(`${flagName(key)}${doc.arg ? ` <${doc.arg}>` : ''}`, `${doc.help}${suffix}`);
  }
  return cmd
    .action(async (flags: Record<string, unknown>) => {
      const config = loadAgentConfig({ flags, env: process.env });
      const logger = createLogger({ level: config.logLevel, base: { node: config.nodeName } });
      // A signal, or an admin Leave that completed, ends the process. Signals are watched from
      // here on: one that arrives while the agent starts is acted on once it is up (the default
      // action would kill the process mid-start); a second one exits at once.
      let shuttingDown = false;
      let stop: (why: NodeJS.Signals | 'left') => void = () => undefined;
      const stopped = new Promise<NodeJS.Signals | 'left'>((resolve) => (stop = resolve));
      const onSignal = (signal: NodeJS.Signals): void => {
        if (shuttingDown) {
          logger.error('signal while shutting down: exiting without a clean shutdown');
          logger.flush();
          process.exit(1);
        }
        shuttingDown = true;
        stop(signal);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const advice = mallocTunablesAdvice(process.env, runtimeGlibcVersion());
      if (advice) logger.warn(advice);
      const agent = await Agent.start(config, logger);
      agent.onLeft = () => {
        shuttingDown = true;
        stop('left');
      };
      const signal = await stopped;
      logger.info({ signal }, signal === 'left' ? 'left the cluster, shutting down' : 'signal received, shutting down');
      try {
        if (config.leaveOnTerminate && signal === 'SIGTERM') await agent.leave(config.shutdownTimeoutMs);
        await agent.close();
      } finally {
        logger.flush();
      }
    });
}
