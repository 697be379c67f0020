/**
 * The guard metrics read the mux's refusal counters and the ConsumeStream budget at scrape time;
 * the two options reach the server.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../src/config.js';
import { registerGuardMetrics } from '../../src/server/guard-metrics.js';
import { StreamBudget } from '../../src/server/stream-budget.js';
import { startTestServer, type TestServer } from '../helpers/api-server.js';
import { openSocket } from './helpers.js';
import { until } from '../helpers/wait.js';

let node: TestServer | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

function value(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name));
  return Number(line?.split(' ').pop() ?? NaN);
}

describe('guard metrics', () => {
  it('report refused connections and the consume budget', async () => {
    node = await startTestServer({ maxConnections: 1 });
    const registry = new Registry();
    const budget = new StreamBudget(1000);
    registerGuardMetrics(registry, { mux: () => node?.mux.stats, consumeBudget: budget });
    const first = await openSocket(node);
    const second = await openSocket(node);
    await until(() => second.closed(), 'the second connection to be refused');
    budget.forceAcquire(300);
    budget.countReset();
    const text = await registry.metrics();
    expect(value(text, 'replog_mux_connections_dropped{reason="refused"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'replog_consume_buffer_bytes')).toBe(300);
    expect(value(text, 'replog_consume_buffer_capacity_bytes')).toBe(1000);
    expect(value(text, 'replog_consume_streams_reset')).toBe(1);
    first.sock.destroy();
  });

  it('parses --max-consume-buffer-bytes and --consume-stall-timeout-ms', () => {
    const config = loadAgentConfig({ flags: { dataDir: '/tmp/x', maxConsumeBufferBytes: '1048576', consumeStallTimeoutMs: '5000' }, env: {} });
    expect(config.maxConsumeBufferBytes).toBe(1048576);
    expect(config.consumeStallTimeoutMs).toBe(5000);
  });
});
