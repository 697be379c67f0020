import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status as Status, type StatusObject } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { LogApiClient } from '../../src/client/log-client.js';
import { loadAgentConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import type { ProduceResponse } from '../../src/gen/log/v1/log.js';
import { silentLogger } from '../../src/logger.js';
import { generateCerts, writeAcl } from '../helpers/certs.js';
import { TempDirs } from '../helpers/temp-dir.js';
import { until } from '../helpers/wait.js';

const temp = new TempDirs();
const agents: Agent[] = [];

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
  await temp.cleanup();
});

async function start(flags: Record<string, unknown>): Promise<Agent> {
  const agent = await Agent.start(loadAgentConfig({ flags: { rpcPort: 0, bindAddr: '127.0.0.1:0', ...flags } }), silentLogger());
  agents.push(agent);
  return agent;
}

describe('single-node agent', () => {
  it('serves the API over the segmented log, exports metrics and resumes after a restart', async () => {
    const dataDir = await temp.make();
    const a = await start({ dataDir, bootstrap: true, metricsAddr: '127.0.0.1:0', maxStoreBytes: 4096 });
    const client = new LogApiClient({ addr: a.rpcAddr() });
    try {
      const values = Array.from({ length: 100 }, (_, i) => Buffer.from(`value-${i}`.padEnd(100, '.')));
      expect(await client.produce(values)).toBe(0);
      expect((await client.consume(42)).value.toString()).toBe(values[42]!.toString());
      // Requests on an open ProduceStream are counted one by one (the stream itself only when it ends).
      expect(await client.produceOnStream([Buffer.from('s1')])).toBe(100);
      expect(await client.produceOnStream([Buffer.from('s2'), Buffer.from('s3')])).toBe(101);
      const metrics = await (await fetch(`http://${a.metricsAddr()}/metrics`)).text();
      expect(metrics).toMatch(/replog_grpc_requests_total\{method="Produce",code="OK"\} 1/);
      expect(metrics).toMatch(/replog_produce_stream_requests_total 2/);
      expect(metrics).toMatch(/replog_produce_stream_request_duration_seconds_count 2/);
      expect(metrics).toMatch(/replog_log_end_offset 103/);
      expect(metrics).toMatch(/replog_log_segments [2-9]/);
      expect(metrics).toMatch(/replog_log_fsync_duration_seconds_count [1-9]/);
      expect(metrics).toMatch(/replog_raft_is_leader 1/);
      expect(metrics).toMatch(/replog_raft_members\{kind="voter"\} 1/);
      expect(metrics).toMatch(/replog_raft_commit_index [1-9]/);
      expect(metrics).toMatch(/replog_gossip_members\{state="alive"\} 1/);
      expect(metrics).toMatch(/replog_raft_state_changes_total [1-9]/);
      expect((await fetch(`http://${a.metricsAddr()}/readyz`)).status).toBe(200);
      expect((await fetch(`http://${a.metricsAddr()}/healthz`)).status).toBe(200);
    } finally {
      client.close();
    }
    await a.close();
    await a.close();
    const b = await start({ dataDir });
    const again = new LogApiClient({ addr: b.rpcAddr() });
    try {
      expect((await again.consume(99)).value.toString()).toMatch(/^value-99/);
      expect((await again.consume(102)).value.toString()).toBe('s3');
      expect(await again.produce([Buffer.from('next')])).toBe(103);
    } finally {
      again.close();
    }
  });

  it('shutdown answers what an open ProduceStream has read, then ends it OK instead of waiting for the client', async () => {
    // Longer than the test's own timeout: a stream left open would make close() hang until then.
    const a = await start({ dataDir: await temp.make(), bootstrap: true, shutdownTimeoutMs: 3_600_000 });
    const client = new LogApiClient({ addr: a.rpcAddr() });
    try {
      expect(await client.produce([Buffer.from('first')])).toBe(0);
      const stream = client.raw.produceStream();
      const answers: number[] = [];
      stream.on('data', (res: ProduceResponse) => answers.push(Number(res.offset)));
      stream.on('error', () => undefined);
      const ended = new Promise<StatusObject>((resolve) => stream.on('status', resolve));
      for (const v of ['a', 'b']) stream.write({ record: undefined, records: [{ value: Buffer.from(v), offset: 0n, term: 0n, type: 0 }], producerId: '', sequence: 0n });
      await until(() => answers.length === 2, 'both requests answered');
      await a.close();
      expect((await ended).code).toBe(Status.OK);
      expect(answers).toEqual([1, 2]);
    } finally {
      client.close();
    }
  });

  it('refuses to start with a policy that does not parse', async () => {
    const dir = await temp.make();
    const certs = generateCerts(dir);
    const acl = writeAcl(dir, 'p, root, *, produce\n');
    writeFileSync(acl.model, '[request_definition]\nr = sub, obj, act\n[matchers]\nm = (((\n');
    const err = await start({
      dataDir: join(dir, 'data'),
      bootstrap: true,
      serverTlsCertFile: certs.serverCert,
      serverTlsKeyFile: certs.serverKey,
      serverTlsCaFile: certs.caCert,
      aclModelFile: acl.model,
      aclPolicyFile: acl.policy,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).option).toMatch(/^--acl-(model|policy)-file$/);
  });
});
