/**
 * One malloc setting everywhere replog runs: the image, the Makefile (tests, benchmarks, `make
 * run`) and the agents `replog cluster` starts (src/cli/malloc-tunables.ts says why).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MALLOC_TUNABLES, mallocTunablesAdvice, runtimeGlibcVersion, withMallocTunables } from '../../src/cli/malloc-tunables.js';
import { dockerEnv, finalStage, parseDockerfile, readDeployFile, repoRoot } from './deploy-files.js';

describe('GLIBC_TUNABLES', () => {
  it('is the same in the image and in the Makefile', () => {
    const runtime = finalStage(parseDockerfile(readDeployFile('Dockerfile')));
    expect(dockerEnv(runtime).GLIBC_TUNABLES).toBe(MALLOC_TUNABLES);
    const makefile = readFileSync(join(repoRoot, 'Makefile'), 'utf8');
    expect(makefile).toContain(`export GLIBC_TUNABLES ?= ${MALLOC_TUNABLES}\n`);
  });

  it('reaches what make runs, unless the caller set its own', () => {
    const printed = (env: NodeJS.ProcessEnv): string => {
      const r = spawnSync('make', ['--no-print-directory', '-f', '-', 'show'], {
        cwd: repoRoot,
        env,
        input: `include Makefile\nshow:\n\t@echo "$$GLIBC_TUNABLES"\n`,
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const { GLIBC_TUNABLES: _, ...without } = process.env;
    expect(printed(without)).toBe(MALLOC_TUNABLES);
    expect(printed({ ...without, GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })).toBe('glibc.malloc.arena_max=2');
  });

  it('is given to the agents replog cluster starts, unless the caller set its own', () => {
    expect(withMallocTunables({ PATH: '/bin' })).toEqual({ PATH: '/bin', GLIBC_TUNABLES: MALLOC_TUNABLES });
    expect(withMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=2');
  });

  it('is read by this glibc as the values it names', () => {
    // ld.so prints the tunables of the C library as the environment sets them (glibc 2.33+).
    const ld = spawnSync('/lib64/ld-linux-x86-64.so.2', ['--list-tunables'], { env: { GLIBC_TUNABLES: MALLOC_TUNABLES }, encoding: 'utf8' });
    expect(ld.status, ld.stderr).toBe(0);
    for (const pair of MALLOC_TUNABLES.split(':')) {
      const [name, value] = pair.split('=');
      expect(ld.stdout).toContain(`${name}: 0x${Number(value).toString(16)} `);
    }
  });

  it('is asked for when an agent starts, only on glibc, and only when GLIBC_TUNABLES is unset', () => {
    expect(runtimeGlibcVersion()).toMatch(/^2\.\d+$/);
    expect(mallocTunablesAdvice({}, '2.36')).toContain(`GLIBC_TUNABLES=${MALLOC_TUNABLES}`);
    expect(mallocTunablesAdvice({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, '2.36')).toBeUndefined();
    expect(mallocTunablesAdvice({ GLIBC_TUNABLES: '' }, '2.36')).toBeUndefined();
    expect(mallocTunablesAdvice({}, undefined)).toBeUndefined();
  });
});
