import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';

const run = (...args: string[]): string =>
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], { encoding: 'utf8' });

describe('replog CLI', () => {
  it('prints its version', () => {
    expect(run('--version').trim()).toBe(VERSION);
  });
  it('prints help', () => {
    expect(run('--help')).toContain('Usage: replog');
  });
});
