import { status as Status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { ReplogClient, type ReplogClientOptions } from '../../src/client/replog-client.js';
import { loadAgentConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { TempDirs } from '../helpers/temp-dir.js';

// ReplogClient sends its produces on one shared ProduceStream. A request that fails there must
// fail alone: the requests in flight beside it are appended exactly once and reported as such.

const temp = new TempDirs();
const agents: Agent[] = [];
const clients: ReplogClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(agents.splice(0).map((a) => a.close()));
  await temp.cleanup();
});

async function setup(flags: Record<string, unknown> = {}, idempotent = true, clientOpts: Partial<ReplogClientOptions> = {}): Promise<{ agent: Agent; client: ReplogClient }> {
  const agent = await Agent.start(loadAgentConfig({ flags: { dataDir: await temp.make(), bootstrap: true, rpcPort: 0, bindAddr: '127.0.0.1:0', ...flags } }), silentLogger());
  agents.push(agent);
  const client = new ReplogClient({ addrs: [agent.rpcAddr()], coalesce: false, idempotent, retryUnknown: !idempotent, retry: { baseBackoffMs: 10, maxBackoffMs: 100 }, ...clientOpts });
  clients.push(client);
  expect(await client.produce('first')).toBe(0);
  return { agent, client };
}

type Outcome = { ok: true; offset: number } | { ok: false; err: Error & { code?: number } };
const settle = (p: Promise<number>): Promise<Outcome> =>
  p.then(
    (offset): Outcome => ({ ok: true, offset }),
    (err: unknown): Outcome => ({ ok: false, err: err as Error & { code?: number } }),
  );

/** Every value in the log with the offsets it is at. */
async function contents(client: ReplogClient): Promise<Map<string, number[]>> {
  const at = new Map<string, number[]>();
  for await (const batch of client.consumeBatches(0, { untilHigh: true })) {
    for (const r of batch) {
      const v = r.value.length > 64 ? `<${r.value.length} bytes>` : r.value.toString();
      (at.get(v) ?? at.set(v, []).get(v)!).push(r.offset);
    }
  }
  return at;
}

async function expectExactlyOnce(client: ReplogClient, produced: Map<string, Outcome>): Promise<void> {
  const log = await contents(client);
  for (const [value, o] of produced) {
    if (o.ok) expect(log.get(value), value).toEqual([o.offset]);
  }
}

describe('a failure on the shared ProduceStream', () => {
  for (const idempotent of [true, false]) {
    it(`a refused request fails alone; the 17 beside it are appended exactly once (${idempotent ? 'idempotent producer' : 'plain producer, retryUnknown'})`, async () => {
      const { client } = await setup({ maxRecordBytes: 16384 }, idempotent);
      const names = [...['pre0', 'pre1'], 'bad', ...Array.from({ length: 15 }, (_, i) => `post${i}`)];
      const pending = names.map((n) => [n, settle(client.produceBatch([n === 'bad' ? Buffer.alloc(100_000, 1) : Buffer.from(n)]))] as const);
      const produced = new Map<string, Outcome>();
      for (const [n, p] of pending) produced.set(n, await p);
      const bad = produced.get('bad');
      expect(bad?.ok).toBe(false);
      if (bad && !bad.ok) expect(bad.err.code).toBe(Status.INVALID_ARGUMENT);
      for (const n of names.filter((x) => x !== 'bad')) expect(produced.get(n)?.ok, n).toBe(true);
      await expectExactlyOnce(client, produced);
    });
  }

  it('a request above the server\'s message limit goes as a unary call and fails alone with RESOURCE_EXHAUSTED', async () => {
    // 9 MiB: above streamMaxRequestBytes (4 MiB) and above the server's limit (8 MiB batches plus framing).
    const { client } = await setup();
    const a = settle(client.produceBatch([Buffer.from('a')]));
    const big = settle(client.produceBatch([Buffer.alloc(9 * 1024 * 1024, 1)]));
    const b = settle(client.produceBatch([Buffer.from('b')]));
    const produced = new Map<string, Outcome>([['a', await a], ['b', await b]]);
    expect(produced.get('a')?.ok).toBe(true);
    expect(produced.get('b')?.ok).toBe(true);
    const refused = await big;
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.err.code).toBe(Status.RESOURCE_EXHAUSTED);
    await expectExactlyOnce(client, produced);
  });

  it('a message grpc-js refuses ends the stream without blaming the request before it, which was appended', async () => {
    // Above the server's message limit (8 MiB batches plus framing) and sent on the stream anyway
    // (a client whose streamMaxRequestBytes is above the server's limit): grpc-js itself ends the stream.
    const { client } = await setup({}, true, { streamMaxRequestBytes: 64 * 1024 * 1024 });
    const produced = new Map<string, Outcome>();
    const a = settle(client.produceBatch([Buffer.from('a')]));
    const big = settle(client.produceBatch([Buffer.alloc(9 * 1024 * 1024, 1)]));
    const b = settle(client.produceBatch([Buffer.from('b')]));
    produced.set('a', await a);
    produced.set('b', await b);
    expect(produced.get('a')?.ok).toBe(true);
    expect(produced.get('b')?.ok).toBe(true);
    expect((await big).ok).toBe(false);
    await expectExactlyOnce(client, produced);
    expect((await contents(client)).has(`<${9 * 1024 * 1024} bytes>`)).toBe(false);
  });
});
