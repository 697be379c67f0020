/**
 * The runner's side of admin-ctl.ts: starts it inside the test network (`ctl`), sends one request
 * at a time and waits for its reply with a deadline. Bounded: at most `pendingMax` requests in
 * flight. close() is idempotent; a reply that never comes rejects at its deadline, and a ctl that
 * exits rejects everything pending.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { childEnv, repoRoot } from './agent-processes.js';

export type AdminCommand = { op: 'members' } | { op: 'transfer'; to: string } | { op: 'remove'; node: string } | { op: 'add-learner'; node: string; rpcAddr: string };

export type AdminRequest = AdminCommand & { id: number };

export type AdminReply = { id: number; ok: true; result?: unknown } | { id: number; ok: false; error: string };

export interface Member {
  id: string;
  name: string;
  rpcAddr: string;
  voter: boolean;
}

/** The configuration as one node sees it (the leader's view when `answeredBy === leaderId`). */
export interface MembersView {
  answeredBy: string;
  leaderId: string;
  members: Member[];
}

/** The outcome of one admin call: refusals are data, not exceptions (a fault may refuse them). */
export type AdminOutcome = { ok: true; result?: unknown } | { ok: false; error: string };

interface Pending {
  resolve: (reply: AdminReply) => void;
  timer: NodeJS.Timeout;
}

const pendingMax = 4;
const closeGraceMs = 2000;

export class AdminChannel {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private exited: string | undefined;

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    // A ctl that died makes writes fail with EPIPE: the exit handler below reports it instead.
    child.stdin!.on('error', () => undefined);
    child.once('exit', (code) => {
      this.exited = `the admin ctl exited (code ${code}); see admin.log`;
      this.failAll(this.exited);
    });
  }

  /** Starts admin-ctl.ts behind `wrap` (the ctl host), talking to `addrs`; its stderr goes to DIR/admin.log. */
  static start(wrap: readonly string[], addrs: readonly string[], dir: string): AdminChannel {
    const argv = [...wrap, process.execPath, '--import', 'tsx', join(repoRoot, 'test', 'chaos', 'admin-ctl.ts'), '--addrs', addrs.join(',')];
    const child = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr.pipe(createWriteStream(join(dir, 'admin.log')));
    return new AdminChannel(child);
  }

  /** Sends `cmd`; resolves with its outcome, `ok: false` on a refusal or after `timeoutMs`. */
  request(cmd: AdminCommand, timeoutMs: number): Promise<AdminOutcome> {
    if (this.closed || this.exited !== undefined) return Promise.resolve({ ok: false, error: this.exited ?? 'the admin channel is closed' });
    if (this.pending.size >= pendingMax) return Promise.resolve({ ok: false, error: `${pendingMax} admin requests already in flight` });
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ ok: false, error: `no answer to ${cmd.op} within ${timeoutMs} ms` });
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, timer });
      this.child.stdin!.write(`${JSON.stringify({ ...cmd, id })}\n`);
    });
  }

  /** Ends the ctl's input (it exits by itself), SIGKILL after a grace period. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll('the admin channel closed');
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), closeGraceMs);
    await exited;
    clearTimeout(timer);
  }

  private onLine(line: string): void {
    let reply: AdminReply;
    try {
      reply = JSON.parse(line) as AdminReply;
    } catch {
      return; // not a reply line
    }
    const p = this.pending.get(reply.id);
    if (!p) return; // answered after its deadline
    this.pending.delete(reply.id);
    clearTimeout(p.timer);
    p.resolve(reply);
  }

  private failAll(error: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ id, ok: false, error });
    }
    this.pending.clear();
  }
}
