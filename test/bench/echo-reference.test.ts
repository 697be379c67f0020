/** The grpc-js unary echo that bench-cluster measures next to replog (bench/lib/references.ts). */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { echoUnaryReference } from '../../bench/lib/references.js';

describe('echo reference', () => {
  it('answers in this process and from a child process, and stops the child', async () => {
    for (const where of ['in-process', 'child'] as const) {
      const r = await echoUnaryReference(1024, 200, where);
      expect(r.perSecond, where).toBeGreaterThan(0);
      expect(r.p50Ms, where).toBeGreaterThan(0);
    }
    // The child exits once disconnected; give it a moment to go.
    for (let i = 0; i < 50 && children().includes('echo-server'); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(children()).not.toContain('echo-server');
  });
});

function children(): string {
  return execFileSync('ps', ['--ppid', String(process.pid), '-o', 'args='], { encoding: 'utf8' });
}
