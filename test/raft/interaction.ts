/**
 * Data-driven Raft scenarios, in the spirit of etcd raft's interaction tests. A file is a list of
 * blocks:
 *
 *     # comment
 *     command arg arg key=value
 *     ----
 *     expected output lines (no blank lines)
 *
 * Blocks are separated by blank lines. `runScript` executes a file and returns it with every
 * expected output replaced by the actual one; the test compares (or, with REWRITE=1, writes) it.
 */
import { MemoryStorage } from '../../src/raft/core/index.js';
import type { ConfigChange, NodeId, RaftOptions } from '../../src/raft/core/index.js';
import { Cluster, bytes, formatEntry } from './cluster.js';

interface Command {
  name: string;
  args: string[];
  kv: Map<string, string>;
}

export function runScript(source: string): string {
  const lines = source.split('\n');
  const out: string[] = [];
  const cluster = { current: new Cluster(1) };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.startsWith('#')) {
      out.push(line);
      i++;
      continue;
    }
    out.push(line);
    i++;
    if (lines[i] !== '----') throw new Error(`line ${i + 1}: expected ---- after "${line}"`);
    out.push('----');
    i++;
    while (i < lines.length && (lines[i] as string).trim() !== '') i++;
    let result: string[];
    try {
      result = execute(cluster, parse(line));
    } catch (err) {
      result = [`error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`];
    }
    out.push(...result);
  }
  return out.join('\n');
}

function parse(line: string): Command {
  const [name = '', ...rest] = line.trim().split(/\s+/);
  const args: string[] = [];
  const kv = new Map<string, string>();
  for (const r of rest) {
    const eq = r.indexOf('=');
    if (eq > 0) kv.set(r.slice(0, eq), r.slice(eq + 1));
    else args.push(r);
  }
  return { name, args, kv };
}

function optionsFrom(kv: Map<string, string>): Partial<RaftOptions> {
  const o: Partial<RaftOptions> = {};
  const num = (k: string): number | undefined => (kv.has(k) ? Number(kv.get(k)) : undefined);
  if (kv.has('prevote')) o.preVote = kv.get('prevote') === 'true';
  if (kv.has('checkquorum')) o.checkQuorum = kv.get('checkquorum') === 'true';
  const map: [string, keyof RaftOptions][] = [
    ['election', 'electionTicks'],
    ['heartbeat', 'heartbeatTicks'],
    ['inflight', 'maxInflightMsgs'],
    ['inflight-bytes', 'maxInflightBytes'],
    ['max-msg-bytes', 'maxMsgBytes'],
    ['transfer-lag', 'transferLagEntriesMax'],
  ];
  for (const [k, field] of map) {
    const v = num(k);
    if (v !== undefined) (o as Record<string, number>)[field] = v;
  }
  return o;
}

const ids = (s: string | undefined): NodeId[] => (s ? s.split(',').filter((x) => x !== '') : []);

function execute(box: { current: Cluster }, cmd: Command): string[] {
  const c = box.current;
  const a = cmd.args;
  const arg = (k: number): string => {
    const v = a[k];
    if (v === undefined) throw new Error(`${cmd.name}: missing argument ${k + 1}`);
    return v;
  };
  switch (cmd.name) {
    case 'add-nodes': {
      const n = Number(arg(0));
      if (cmd.kv.has('seed')) box.current = new Cluster(Number(cmd.kv.get('seed')));
      const first = box.current.nodes.size + 1;
      const newIds = Array.from({ length: n }, (_, k) => String(first + k));
      const voters = cmd.kv.has('voters') ? ids(cmd.kv.get('voters')) : newIds;
      const learners = ids(cmd.kv.get('learners'));
      box.current.bootstrap(newIds, voters, learners, optionsFrom(cmd.kv));
      return [];
    }
    case 'add-empty-node':
      c.add(arg(0), MemoryStorage.empty(), optionsFrom(cmd.kv));
      return [];
    case 'campaign':
      c.core(arg(0)).campaign();
      return [];
    case 'tick':
      c.tick(arg(0), Number(a[1] ?? 1));
      return [];
    case 'stabilize':
      return c.stabilize(a);
    case 'process-ready':
      return a.flatMap((id) => c.processReady(id));
    case 'deliver-msgs':
      return c.deliver(a);
    case 'drop-msgs':
      return c.drop(a);
    case 'partition':
      c.partition(splitGroups(a));
      return [];
    case 'heal':
      c.heal();
      return [];
    case 'restart':
      c.restart(arg(0));
      return [];
    case 'propose': {
      const r = c.core(arg(0)).propose(a.slice(1).map((v) => ({ type: 0, data: bytes(v) })));
      return [`index=${r.index} term=${r.term}`];
    }
    case 'propose-conf-change': {
      const change = { type: arg(1), id: arg(2) } as ConfigChange;
      const r = c.core(arg(0)).proposeConfigChange(change);
      return [`index=${r.index} term=${r.term}`];
    }
    case 'transfer-leadership':
      c.core(arg(0)).transferLeadership(arg(1));
      return [];
    case 'read-index':
      c.core(arg(0)).readIndex(Number(arg(1)));
      return [];
    case 'compact': {
      const n = c.node(arg(0));
      n.storage.compact(Number(arg(1)));
      return [];
    }
    case 'status':
      return (a.length > 0 ? a : [...c.nodes.keys()]).flatMap((id) => status(c, id));
    case 'log':
      return logOf(c, arg(0));
    case 'check-committed': {
      const problems = c.checkCommitted();
      return problems.length === 0 ? ['ok'] : problems;
    }
    default:
      throw new Error(`unknown command ${cmd.name}`);
  }
}

function splitGroups(args: string[]): NodeId[][] {
  const groups: NodeId[][] = [[]];
  for (const x of args) {
    if (x === '/') groups.push([]);
    else (groups.at(-1) as NodeId[]).push(x);
  }
  return groups;
}

function status(c: Cluster, id: NodeId): string[] {
  const st = c.core(id).status();
  const lines = [
    `${id}: ${st.role} term=${st.term} leader=${st.leader ?? '-'} commit=${st.commit} last=${st.lastIndex} ` +
      `voters=${st.config.voters.join(',')} learners=${st.config.learners.join(',')}`,
  ];
  for (const [pid, pr] of st.progress) {
    lines.push(`  ${pid}: match=${pr.match} next=${pr.next} ${pr.state}${pr.recentActive ? ' active' : ''}`);
  }
  return lines;
}

function logOf(c: Cluster, id: NodeId): string[] {
  const n = c.node(id);
  const s = n.storage;
  const snap = s.snapshot();
  const lines = [`snapshot=${snap.index}/${snap.term} commit=${n.commitIndex}`];
  const entries = s.entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER);
  for (const e of entries) lines.push(formatEntry(e));
  return lines;
}
