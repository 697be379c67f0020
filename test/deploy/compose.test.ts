/**
 * deploy/docker-compose.yml and its TLS overlay, parsed and checked offline: services, named
 * volumes, published ports, health checks (executed for real against the agent's metrics server)
 * and every node's command line, accepted by the agent's own flag parser and config schema with
 * the image's environment.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { envName, splitHostPort } from '../../src/config.js';
import { MetricsHttpServer } from '../../src/server/metrics-http.js';
import { TempDirs } from '../helpers/temp-dir.js';
import {
  agentConfigOf,
  deployDir,
  dockerEnv,
  finalStage,
  loadCompose,
  mergeComposeService,
  parseDockerfile,
  parsePort,
  parseVolume,
  readDeployFile,
  repoRoot,
  type ComposeService,
} from './deploy-files.js';
import { exitCode, runCommand } from './run-command.js';

const compose = loadCompose('docker-compose.yml');
const tlsOverlay = loadCompose('docker-compose.tls.yml');
const imageEnv = dockerEnv(finalStage(parseDockerfile(readDeployFile('Dockerfile'))));
const names = Object.keys(compose.services);
const services = Object.entries(compose.services);

/** What the agent in a service's container sees: the image's ENV, then the service's environment. */
function configOf(service: ComposeService): ReturnType<typeof agentConfigOf> {
  return agentConfigOf(service.command ?? [], { ...imageEnv, ...service.environment });
}

describe('deploy/docker-compose.yml', () => {
  it('has three nodes built from deploy/Dockerfile with the repository root as context', () => {
    expect(names).toEqual(['n1', 'n2', 'n3']);
    for (const [name, s] of services) {
      expect(s.build, name).toBeDefined();
      const context = resolve(deployDir, s.build?.context ?? '');
      expect(context).toBe(resolve(repoRoot));
      expect(existsSync(join(context, s.build?.dockerfile ?? ''))).toBe(true);
      expect(s.hostname).toBe(name);
    }
  });

  it('gives each node its own named volume at the data dir', () => {
    const sources = services.map(([name, s]) => {
      const dataVolumes = (s.volumes ?? []).map(parseVolume).filter((v) => v.target === configOf(s).dataDir);
      expect(dataVolumes, name).toHaveLength(1);
      return dataVolumes[0]!.source;
    });
    expect(new Set(sources).size).toBe(names.length);
    for (const source of sources) {
      expect(source).toMatch(/^[a-z0-9][a-z0-9_.-]*$/); // a named volume, not a bind mount
      expect(compose.volumes).toHaveProperty(source);
    }
  });

  it('publishes each node\'s metrics and API ports on distinct loopback host ports', () => {
    const hostPorts: number[] = [];
    for (const [name, s] of services) {
      const config = configOf(s);
      const ports = (s.ports ?? []).map(parsePort);
      const metricsPort = splitHostPort(config.metricsAddr ?? '')?.port;
      expect(ports.map((p) => p.container).sort(), name).toEqual([config.rpcPort, metricsPort].sort());
      for (const p of ports) {
        expect(p.hostIp).toBe('127.0.0.1');
        hostPorts.push(p.host);
      }
    }
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('runs the same command line on every node but for its own name', () => {
    const gossipPort = splitHostPort(imageEnv[envName('bindAddr')] ?? '')?.port;
    for (const [name, s] of services) {
      const config = configOf(s);
      expect(config.nodeName).toBe(name);
      expect(config.advertiseAddr).toBe(name);
      expect(config.bootstrapExpect).toBe(names.length);
      expect(config.startJoinAddrs).toEqual(names.map((n) => `${n}:${gossipPort}`));
      expect(config.bootstrap).toBe(false);
      expect(config.sync).toBe('always');
      const generic = (s.command ?? []).map((arg) => (arg === name ? 'NAME' : arg));
      expect(generic).toEqual((compose.services.n1?.command ?? []).map((arg) => (arg === 'n1' ? 'NAME' : arg)));
    }
  });

  it('gives the nodes time to hand leadership over on stop', () => {
    for (const [, s] of services) {
      expect(s.stop_signal).toBe('SIGTERM');
      const graceS = Number(/^(\d+)s$/.exec(s.stop_grace_period ?? '')?.[1]);
      expect(graceS * 1000).toBeGreaterThan(configOf(s).shutdownTimeoutMs + 5_000);
    }
  });
});

describe('deploy/docker-compose.yml health checks', () => {
  let server: MetricsHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('are healthy exactly when the node reports ready on its metrics port', async () => {
    let ready = false;
    server = await MetricsHttpServer.listen({ host: '127.0.0.1', port: 0, registry: new Registry(), ready: () => ready });
    const port = splitHostPort(server.address())?.port;
    for (const [name, s] of services) {
      const [kind, ...command] = s.healthcheck?.test ?? [];
      expect(kind, name).toBe('CMD');
      expect(command[0]).toBe('node');
      const env = { ...process.env, ...imageEnv, ...s.environment, [envName('metricsAddr')]: `0.0.0.0:${port}` };
      ready = false;
      expect(await exitCode(command, env)).toBe(1);
      ready = true;
      expect(await exitCode(command, env)).toBe(0);
    }
  });
});

describe('deploy/docker-compose.tls.yml + deploy/gen-certs.sh', () => {
  const temp = new TempDirs();
  afterAll(() => temp.cleanup());

  it('overlays every node with mTLS and the ACL, from files the script makes and deploy/acl holds', async () => {
    const certs = await temp.make('replog-certs-');
    const gen = await runCommand(['bash', join(deployDir, 'gen-certs.sh'), certs], process.env, 60_000);
    expect(gen.code, gen.stderr).toBe(0);
    expect(Object.keys(tlsOverlay.services)).toEqual(names);
    for (const [name, base] of services) {
      const merged = mergeComposeService(base, tlsOverlay.services[name] ?? {});
      // Bind mounts of the overlay, resolved as compose does (relative to deploy/); ./certs is
      // where the docs tell gen-certs.sh to write, replaced here by the test's own output.
      const mounts = (merged.volumes ?? []).map(parseVolume).filter((v) => v.source.startsWith('.'));
      const hostPath = (containerPath: string): string => {
        const m = mounts.find((v) => containerPath.startsWith(`${v.target}/`));
        if (!m) throw new Error(`${containerPath} is not under a mounted directory of ${name}`);
        const dir = m.source === './certs' ? certs : resolve(deployDir, m.source);
        return join(dir, containerPath.slice(m.target.length + 1));
      };
      const files = Object.fromEntries(Object.values(merged.environment ?? {}).filter((v) => v.startsWith('/etc/')).map((p) => [p, readFileSync(hostPath(p), 'utf8')]));
      const config = agentConfigOf(merged.command ?? [], { ...imageEnv, ...merged.environment }, files);
      for (const key of ['serverTlsCertFile', 'serverTlsKeyFile', 'serverTlsCaFile', 'peerTlsCertFile', 'peerTlsKeyFile', 'peerTlsCaFile', 'aclModelFile', 'aclPolicyFile'] as const) {
        expect(config[key], `${name} ${key}`).toBeDefined();
        expect(files[config[key] ?? ''], `${name} ${key}`).toBeTruthy();
      }
      expect(mounts.every((m) => m.mode === 'ro')).toBe(true);
      // The base service's data volume survives the overlay's merge.
      expect((merged.volumes ?? []).map(parseVolume).some((v) => v.target === config.dataDir)).toBe(true);
    }
    // The server certificate names every service, so clients verify n1:8400 etc.
    const san = await runCommand(['openssl', 'x509', '-in', join(certs, 'server.pem'), '-noout', '-ext', 'subjectAltName'], process.env);
    for (const name of names) expect(san.stdout).toContain(`DNS:${name},`);
    const subject = await runCommand(['openssl', 'x509', '-in', join(certs, 'client.pem'), '-noout', '-subject'], process.env);
    expect(subject.stdout).toMatch(/CN\s*=\s*root/);
    expect(readDeployFile('acl/policy.csv')).toMatch(/^p, root, \*, produce$/m);
  });

  it('keeps the Kubernetes ACL files identical to deploy/acl', () => {
    expect(readDeployFile('k8s/acl-model.conf')).toBe(readDeployFile('acl/model.conf'));
    expect(readDeployFile('k8s/acl-policy.csv')).toBe(readDeployFile('acl/policy.csv'));
  });
});
