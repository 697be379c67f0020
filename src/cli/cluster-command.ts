/**
 * `replog cluster`: N local agents for development. Starts them, waits for a leader, prints the
 * nodes and commands to try, interleaves their logs (prefixed, one line per event), restarts
 * nothing silently, and on Ctrl-C stops every node cleanly.
 */
import { Command } from 'commander';
import { intOption } from './int-option.js';
import { LocalCluster, type LocalNode } from './local-cluster.js';

interface ClusterFlags {
  nodes: string;
  dataDir: string;
  basePort: string;
  logs: boolean;
  json: boolean;
}

export function clusterCommand(): Command {
  return new Command('cluster')
    .description('run an N-node cluster of local agents (data reused on the next run)')
    .option('--nodes <n>', 'number of nodes', '3')
    .option('--data-dir <dir>', 'directory for the nodes\' data dirs', './data')
    .option('--base-port <port>', 'node i listens on base+10i (rpc), +1 (gossip), +2 (metrics); 0 = any free ports', '8400')
    .option('--no-logs', 'do not print the nodes\' logs')
    .option('--json', 'print the node table as one JSON line')
    .action(async (flags: ClusterFlags) => {
      const nodes = intOption('--nodes', flags.nodes, 1, 9);
      const basePort = intOption('--base-port', flags.basePort, 0, 65_000);
      let ready = false;
      const cluster = await LocalCluster.start({
        nodes,
        dataDir: flags.dataDir,
        basePort,
        onLine: (node, line) => {
          if (flags.logs || !ready) printLine(node, line, flags.logs);
        },
        onExit: (node, code, signal) => {
          process.stderr.write(`\n[${node.name}] EXITED (${signal ?? `code ${code}`}); it is not restarted. Ctrl-C stops the others.\n`);
        },
      });
      const stop = async (): Promise<void> => {
        process.stderr.write('\nstopping every node...\n');
        await cluster.stop();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
      const servers = await cluster.waitForLeader(60_000);
      ready = true;
      const leader = servers.find((s) => s.isLeader)?.id;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ nodes: cluster.nodes.map((n) => ({ name: n.name, rpcAddr: n.rpcAddr, gossipAddr: n.gossipAddr, metricsAddr: n.metricsAddr, leader: n.name === leader })) })}\n`);
      } else {
        printTable(cluster.nodes, leader);
      }
    });
}

function printTable(nodes: readonly LocalNode[], leader: string | undefined): void {
  const rows = nodes.map((n) => [n.name, n.rpcAddr, n.gossipAddr, `http://${n.metricsAddr}/metrics`, n.name === leader ? 'leader' : 'follower']);
  const head = ['node', 'rpc (gRPC + Raft)', 'gossip (UDP)', 'metrics', 'role'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  const follower = nodes.find((n) => n.name !== leader) ?? nodes[0];
  const any = nodes[0];
  process.stdout.write(
    [
      '',
      `replog cluster of ${nodes.length} is up`,
      '',
      line(head),
      ...rows.map(line),
      '',
      'Try:',
      `  echo hello | ./bin/replog produce --addr ${any?.rpcAddr ?? ''}`,
      `  ./bin/replog consume --addr ${follower?.rpcAddr ?? ''} --offset 0 --follow`,
      `  ./bin/replog servers --addr ${any?.rpcAddr ?? ''}`,
      '  kill a node (its pid is in its log lines) and watch the others elect a new leader',
      'Ctrl-C stops every node.',
      '',
    ].join('\n'),
  );
}

/** One compact line per JSON log event: `[n1] 12:00:01 INFO raft state changed role=leader`. */
function printLine(node: LocalNode, line: string, verbose: boolean): void {
  let text = line;
  try {
    const ev = JSON.parse(line) as Record<string, unknown>;
    const level = typeof ev.level === 'number' ? levelName(ev.level) : show(ev.level);
    if (!verbose && level !== 'ERROR' && level !== 'FATAL') return;
    const time = typeof ev.time === 'string' ? ev.time.slice(11, 19) : '';
    const extras = Object.entries(ev)
      .filter(([k]) => !['level', 'time', 'msg', 'pid', 'node', 'hostname'].includes(k))
      .map(([k, v]) => `${k}=${show(v)}`)
      .join(' ');
    text = `${time} ${level} ${show(ev.msg)} ${extras}`;
  } catch {
    // not JSON: print as is
  }
  process.stderr.write(`[${node.name}] ${text}\n`);
}

function show(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function levelName(level: number): string {
  if (level >= 60) return 'FATAL';
  if (level >= 50) return 'ERROR';
  if (level >= 40) return 'WARN';
  if (level >= 30) return 'INFO';
  if (level >= 20) return 'DEBUG';
  return 'TRACE';
}
