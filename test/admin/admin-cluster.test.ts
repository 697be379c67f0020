/**
 * Admin operations on a real 3-node cluster, through the CLI: status, leadership transfer,
 * removal that sticks (the reconciler does not add the node back while it runs), add-learner.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplogAdminClient, type ClusterStatusView } from '../../src/client/admin-client.js';
import type { LocalCluster } from '../../src/cli/local-cluster.js';
import { eventually, produceRetrying, startCluster } from '../cluster/helpers.js';

const cli = ['--import', 'tsx', 'src/cli/run.ts'];

function run(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...cli, ...args], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ stdout, stderr, code: err ? 1 : 0 }));
  });
}

/** `replog status --json` (the CLI); polling loops use the same client in-process (cheaper). */
async function statusCli(addr: string): Promise<ClusterStatusView> {
  const r = await run(['status', '--json', '--addr', addr]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as ClusterStatusView;
}

async function status(addr: string): Promise<ClusterStatusView> {
  const client = new ReplogAdminClient({ addrs: [addr], callTimeoutMs: 5000 });
  try {
    return await client.clusterStatus();
  } finally {
    client.close();
  }
}

const leaderName = (v: ClusterStatusView): string | undefined => v.nodes.find((n) => n.id === v.leaderId)?.name;

/** Statuses polled for `ms`: the configuration must keep `names` the whole time (a bounded observation, not a sleep). */
async function staysWithout(addr: string, name: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const v = await status(addr);
    expect(v.nodes.map((n) => n.name)).not.toContain(name);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('replog admin on a 3-node cluster', () => {
  let cluster: LocalCluster;
  let cleanup: () => Promise<void>;
  let logs: string[];

  beforeAll(async () => {
    ({ cluster, cleanup, logs } = await startCluster(3));
    await cluster.waitForLeader(30_000);
  }, 60_000);

  afterAll(async () => {
    await cleanup();
  });

  it('status, transfer-leader, remove (sticks), add-learner', async () => {
    const addrs = cluster.nodes.map((n) => n.rpcAddr);
    try {
      await produceRetrying(addrs[0]!, ['a', 'b', 'c'].map((v) => Buffer.from(v)));

      // Status through any node shows the leader's view: 3 voters, one leader, every lag 0.
      await eventually(async () => {
        const v = await status(addrs[2]!);
        return v.nodes.length === 3 && v.nodes.every((n) => n.lagEntries === 0 && n.reachable) ? v : undefined;
      }, 'every member caught up');
      const view = await statusCli(addrs[2]!);
      expect(view.nodes).toHaveLength(3);
      expect(view.nodes.every((n) => n.lagEntries === 0 && n.reachable)).toBe(true);
      expect(view.nodes.filter((n) => n.role === 'leader')).toHaveLength(1);
      expect(view.nodes.every((n) => n.voter && n.selfReported)).toBe(true);
      expect(view.answeredBy).toBe(view.leaderId);
      expect(new Set(view.nodes.map((n) => n.highestOffset))).toEqual(new Set([2]));

      // transfer-leader --to a follower, sent to the other follower (it follows the hint).
      const first = leaderName(view)!;
      const [target, other] = view.nodes.filter((n) => n.name !== first);
      const moved = await run(['admin', 'transfer-leader', '--to', target!.name, '--addr', other!.rpcAddr, '--json']);
      expect(moved.stderr).toBe('');
      expect(JSON.parse(moved.stdout)).toEqual({ leaderId: target!.id });
      expect(leaderName(await status(other!.rpcAddr))).toBe(target!.name);

      // remove the old leader (now a follower, still running and alive in gossip): it stays out.
      const removed = await run(['admin', 'remove', first, '--addr', other!.rpcAddr]);
      expect(removed).toMatchObject({ code: 0, stdout: 'removed\n' });
      await eventually(async () => ((await status(other!.rpcAddr)).nodes.length === 2 ? true : undefined), 'the removal');
      await staysWithout(other!.rpcAddr, first, 3000);
      // A new leader learns the removal through gossip and does not add it back either.
      const admin = new ReplogAdminClient({ addrs: [target!.rpcAddr] });
      try {
        expect(await admin.transferLeadership(other!.name)).toBe(other!.id);
      } finally {
        admin.close();
      }
      await staysWithout(target!.rpcAddr, first, 3000);
      const metrics = await (await fetch(`http://${cluster.node(target!.name).metricsAddr}/metrics`)).text();
      expect(metrics).toMatch(/replog_raft_config_changes_total\{type="remove",source="admin"\} 1/);
      expect(metrics).toMatch(/replog_raft_leader_changes_total \d+/);

      // add-learner by name (gossip knows it): it comes back, and the reconciler promotes it.
      const added = await run(['admin', 'add-learner', first, '--addr', target!.rpcAddr]);
      expect(added).toMatchObject({ code: 0, stdout: 'added as a learner\n' });
      await eventually(async () => {
        const v = await status(target!.rpcAddr);
        return v.nodes.length === 3 && v.nodes.every((n) => n.voter && n.lagEntries === 0) ? true : undefined;
      }, 'the node back as a caught-up voter');
      const lag = await (await fetch(`http://${cluster.node(other!.name).metricsAddr}/metrics`)).text();
      expect(lag).toMatch(new RegExp(`replog_raft_follower_lag_bytes\\{peer="${first}"\\} 0`));
    } catch (err) {
      console.error(logs.slice(-80).join('\n'));
      throw err;
    }
  }, 120_000);
});
