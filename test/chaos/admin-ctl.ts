/**
 * The chaos runner's hands inside the test network: a long-lived admin client that runs next to
 * the probe (the `ctl` namespace, never faulted; next to the proxies in proxy mode), so that no
 * admin call leaves from the root namespace. One JSON request per stdin line, one JSON reply per
 * stdout line, in order:
 *
 *   {"id":1,"op":"members"}                                -> {"id":1,"ok":true,"result":{leaderId,members}}
 *   {"id":2,"op":"transfer","to":"n2/uuid"}                -> {"id":2,"ok":true,"result":"n2/uuid"}
 *   {"id":3,"op":"remove","node":"n2/uuid"}                -> {"id":3,"ok":true}
 *   {"id":4,"op":"add-learner","node":"n2/uuid","rpcAddr":"10.0.0.2:7001"} -> {"id":4,"ok":true}
 *
 * A refused call answers {"id":..,"ok":false,"error":"..."}. It exits when stdin ends, on SIGTERM
 * or after --duration-ms.
 */
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { ReplogAdminClient } from '../../src/client/admin-client.js';
import { errorMessage } from '../../src/errors.js';
import type { AdminReply, AdminRequest, MembersView } from './admin-channel.js';

interface CtlOptions {
  addrs: string;
  durationMs: string;
}

/** Per call: a transfer waits up to two election timeouts, a config change for a pending one. */
const callTimeoutMs = 8000;
const retryDeadlineMs = 5000;
const statusTimeoutMs = 1000;

/**
 * The leader's own view of the configuration: every node is asked (a removed node may still answer
 * with a stale view and no leader); the self-reported leader with the highest term wins. Without
 * one, any answer (leaderId empty); without any answer, the last error.
 */
async function members(admin: ReplogAdminClient, addrs: readonly string[]): Promise<MembersView> {
  const answers = await Promise.allSettled(addrs.map((a) => admin.status(a, statusTimeoutMs)));
  const views = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
  const leaders = views.filter((v) => v.leaderId !== '' && v.answeredBy === v.leaderId).sort((a, b) => b.term - a.term);
  const view = leaders[0] ?? views[0];
  if (!view) {
    const failed = answers.find((a): a is PromiseRejectedResult => a.status === 'rejected');
    throw failed?.reason instanceof Error ? failed.reason : new Error('no node answered');
  }
  const led = leaders[0] !== undefined;
  return {
    answeredBy: view.answeredBy,
    leaderId: led ? view.leaderId : '',
    members: view.nodes.map((n) => ({ id: n.id, name: n.name, rpcAddr: n.rpcAddr, voter: n.voter })),
  };
}

async function execute(admin: ReplogAdminClient, addrs: readonly string[], req: AdminRequest): Promise<unknown> {
  switch (req.op) {
    case 'members':
      return members(admin, addrs);
    case 'transfer':
      return admin.transferLeadership(req.to);
    case 'remove':
      return admin.removeNode(req.node);
    case 'add-learner':
      return admin.addLearner(req.node, req.rpcAddr);
  }
}

async function serve(o: CtlOptions): Promise<void> {
  const addrs = o.addrs.split(',');
  const admin = new ReplogAdminClient({ addrs, callTimeoutMs, retryDeadlineMs });
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const stop = (): void => lines.close();
  process.once('SIGTERM', stop);
  setTimeout(stop, Number(o.durationMs)).unref();
  try {
    // Sequential on purpose: the schedule issues one change at a time.
    for await (const line of lines) {
      if (line.trim() === '') continue;
      const req = JSON.parse(line) as AdminRequest;
      let reply: AdminReply;
      try {
        reply = { id: req.id, ok: true, result: await execute(admin, addrs, req) };
      } catch (err) {
        reply = { id: req.id, ok: false, error: errorMessage(err) };
      }
      process.stdout.write(`${JSON.stringify(reply)}\n`);
    }
  } finally {
    admin.close();
  }
}

async function main(): Promise<void> {
  const o = new Command()
    .requiredOption('--addrs <list>', 'HOST:PORT,... of every node')
    .option('--duration-ms <ms>', 'stop after this long', '3600000')
    .parse()
    .opts<CtlOptions>();
  await serve(o);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`chaos admin ctl failed: ${errorMessage(err)}`);
    process.exit(1);
  },
);
