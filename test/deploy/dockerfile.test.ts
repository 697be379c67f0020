/**
 * deploy/Dockerfile, parsed and checked against the agent's own flags: the build and runtime
 * stages, the non-root user, the /data volume, EXPOSEd ports matching the REPLOG_* defaults the
 * agent reads, the ENTRYPOINT running the compiled CLI, and a HEALTHCHECK that is executed for
 * real against the agent's metrics server (healthy, then unhealthy once it is gone).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { envName, splitHostPort } from '../../src/config.js';
import { MetricsHttpServer } from '../../src/server/metrics-http.js';
import { agentConfigOf, dockerEnv, execForm, finalStage, parseDockerfile, parseHealthcheck, readDeployFile, repoRoot } from './deploy-files.js';
import { exitCode } from './run-command.js';

const instructions = parseDockerfile(readDeployFile('Dockerfile'));
const runtime = finalStage(instructions);
const of = (keyword: string): string[] => runtime.filter((i) => i.keyword === keyword).map((i) => i.args);
const imageEnv = dockerEnv(runtime);

describe('deploy/Dockerfile', () => {
  it('builds with dev dependencies and runs on node:20-slim with production dependencies only', () => {
    const froms = instructions.filter((i) => i.keyword === 'FROM').map((i) => i.args);
    expect(froms).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE} AS runtime']);
    expect(instructions.find((i) => i.keyword === 'ARG')?.args).toBe('NODE_IMAGE=node:20-slim');
    const buildRuns = instructions.slice(0, instructions.indexOf(runtime[0]!)).filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(buildRuns.some((r) => /^npm ci\b/.test(r) && !r.includes('--omit=dev'))).toBe(true);
    expect(buildRuns).toContain('npx tsc -p tsconfig.build.json');
    expect(of('RUN').some((r) => r.startsWith('npm ci --omit=dev'))).toBe(true);
    expect(of('COPY')).toContain('--from=build /src/dist ./dist');
    // Every file the build stage copies exists in the context (the repository root).
    for (const copy of instructions.slice(0, instructions.indexOf(runtime[0]!)).filter((i) => i.keyword === 'COPY')) {
      for (const src of copy.args.split(/\s+/).slice(0, -1)) expect(existsSync(join(repoRoot, src)), src).toBe(true);
    }
  });

  it('runs as a non-root numeric user and keeps data in the /data volume', () => {
    expect(of('USER')).toHaveLength(1);
    const [uid, gid] = (of('USER')[0] ?? '').split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    expect(of('RUN').join('\n')).toMatch(new RegExp(`useradd .*--uid ${uid} `));
    expect(of('VOLUME').map((v) => execForm(v))).toEqual([['/data']]);
    expect(imageEnv[envName('dataDir')]).toBe('/data');
  });

  it('exposes the ports the agent listens on with the image environment', () => {
    const config = agentConfigOf(['agent', '--bootstrap'], imageEnv);
    const gossip = splitHostPort(config.bindAddr);
    const metrics = splitHostPort(config.metricsAddr ?? '');
    expect(gossip?.host).toBe('0.0.0.0');
    expect(metrics?.host).toBe('0.0.0.0');
    const exposed = of('EXPOSE').flatMap((e) => e.split(/\s+/)).sort();
    expect(exposed).toEqual([`${config.rpcPort}/tcp`, `${gossip?.port}/udp`, `${metrics?.port}/tcp`].sort());
    // Every ENV the image sets is an agent option (or NODE_ENV, GLIBC_TUNABLES): a typo would be
    // silently ignored.
    const known = new Set(['NODE_ENV', 'GLIBC_TUNABLES', ...Object.keys(config).map(envName)]);
    for (const name of Object.keys(imageEnv)) expect(known.has(name), name).toBe(true);
  });

  it('has an exec-form ENTRYPOINT running the compiled CLI, so `docker run IMAGE agent ...` works', () => {
    expect(of('ENTRYPOINT').map(execForm)).toEqual([['node', 'dist/cli/run.js']]);
    expect(of('WORKDIR').at(-1)).toBe('/app');
    // tsconfig.build.json compiles src/cli/run.ts to dist/cli/run.js.
    const build = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(build.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    expect(existsSync(join(repoRoot, 'src/cli/run.ts'))).toBe(true);
    expect(of('CMD').map(execForm)).toEqual([['--help']]);
    expect(of('STOPSIGNAL')).toEqual(['SIGTERM']);
  });
});

describe('deploy/Dockerfile HEALTHCHECK', () => {
  const { options, command } = parseHealthcheck(of('HEALTHCHECK')[0] ?? '');
  let server: MetricsHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('uses node (no curl in slim images) with bounded timings', () => {
    expect(command[0]).toBe('node');
    expect(command.join(' ')).toContain('/healthz');
    expect(command.join(' ')).toContain(envName('metricsAddr'));
    for (const key of ['interval', 'timeout', 'start-period', 'retries']) expect(options[key], key).toBeDefined();
  });

  it('is healthy while /healthz answers on the metrics port and unhealthy once it is gone', async () => {
    server = await MetricsHttpServer.listen({ host: '127.0.0.1', port: 0, registry: new Registry(), ready: () => false });
    const env = { ...process.env, [envName('metricsAddr')]: `0.0.0.0:${splitHostPort(server.address())?.port}` };
    expect(await exitCode(command, env)).toBe(0);
    await server.close();
    expect(await exitCode(command, env)).toBe(1);
  });
});
