import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { LogApiClient } from '../../src/client/log-client.js';
import { loadAgentConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { TempDirs } from '../helpers/temp-dir.js';

const temp = new TempDirs();
afterAll(() => temp.cleanup());

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
}

describe('deploy/grafana-dashboard.json', () => {
  it('queries only metrics a running agent exports', async () => {
    const dash = JSON.parse(readFileSync(new URL('../../deploy/grafana-dashboard.json', import.meta.url), 'utf8')) as Dashboard;
    const wanted = new Set<string>();
    for (const p of dash.panels) for (const t of p.targets) for (const m of t.expr.matchAll(/replog_[a-z0-9_]+/g)) wanted.add(m[0].replace(/_(bucket|count|sum)$/, ''));
    expect(wanted.size).toBeGreaterThan(10);
    const agent = await Agent.start(loadAgentConfig({ flags: { dataDir: await temp.make(), bootstrap: true, rpcPort: 0, bindAddr: '127.0.0.1:0', metricsAddr: '127.0.0.1:0' } }), silentLogger());
    try {
      const client = new LogApiClient({ addr: agent.rpcAddr() });
      await client.produce([Buffer.from('x')]);
      client.close();
      const text = await (await fetch(`http://${agent.metricsAddr()}/metrics`)).text();
      const exported = new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
      for (const name of wanted) expect(exported, `${name} is queried by the dashboard but not exported`).toContain(name);
    } finally {
      await agent.close();
    }
  });
});
