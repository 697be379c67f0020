/** The minimal replicated append that bench-cluster measures next to replog (bench/lib/replication-floor.ts). */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { replicationFloor } from '../../bench/lib/replication-floor.js';
import { TempDirs } from '../helpers/temp-dir.js';

describe('replication floor reference', () => {
  const temp = new TempDirs();
  afterEach(() => temp.cleanup());

  it('writes every record on the leader and both followers, answers them, and stops its processes', async () => {
    const dir = await temp.make('replog-floor-');
    const r = await replicationFloor(dir, { ms: 300, warmupMs: 100, valueBytes: 100 });
    expect(r.perSecond).toBeGreaterThan(0);
    expect(r.p50Ms).toBeGreaterThan(0);
    // One file per process. Each holds the warm-up's records and the measured ones, except perhaps
    // the last one for the follower that had not answered it yet: at least the measured count.
    const files = readdirSync(join(dir, 'replication-floor')).map((f) => statSync(join(dir, 'replication-floor', f)).size);
    expect(files).toHaveLength(3);
    const answered = Math.round((r.perSecond * 300) / 1000);
    for (const bytes of files) expect(bytes).toBeGreaterThanOrEqual(answered * 100);
    const children = execFileSync('ps', ['--ppid', String(process.pid), '-o', 'args='], { encoding: 'utf8' });
    expect(children).not.toContain('replication-floor-node');
  });
});
