/**
 * `replog agent`: runs one node until SIGINT/SIGTERM, then shuts down cleanly (stop accepting,
 * finish in-flight calls, sync and close the log) and exits 0. A second signal exits at once.
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
      const advice = mallocTunablesAdvice(process.env, runtimeGlibcVersion());
      if (advice) logger.warn(advice);
      const agent = await Agent.start(config, logger);
      // A signal, or an admin Leave that completed, ends the process.
      const signal = await new Promise<NodeJS.Signals | 'left'>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        agent.onLeft = () => resolve('left');
      });
      const force = (): void => {
        logger.error('second signal: exiting without a clean shutdown');
        logger.flush();
        process.exit(1);
      };
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      logger.info({ signal }, signal === 'left' ? 'left the cluster, shutting down' : 'signal received, shutting down');
      try {
        if (config.leaveOnTerminate && signal === 'SIGTERM') await agent.leave(config.shutdownTimeoutMs);
        await agent.close();
      } finally {
        logger.flush();
      }
    });
}
