/**
 * The deployments, for real without a container engine or a Kubernetes cluster.
 *
 * Compose: every service's exact command line without a container engine: every service's exact command line
 * runs as an agent in its own network namespace, with the image's environment, the service's
 * environment and its volumes mapped to temp dirs, and `/etc/netns/<ns>/hosts` mapping the
 * service names. The nodes must form one cluster that accepts a produce sent to one node and
 * serves it from another, with the compose health checks passing inside each namespace. Then the
 * same with the TLS overlay (certificates from deploy/gen-certs.sh, the ACL from deploy/acl).
 *
 * Kubernetes: the StatefulSet's container, rendered for ordinals 0, 1 and 2 (downward-API variables
 * filled in), runs the same way with the pods' headless-Service DNS names in the hosts files, the
 * ConfigMap's files and gen-certs.sh's certificates (the Secret) at mapped mount paths, and must
 * form a cluster reachable through the client Service's name.
 *
 * One file, so the two multi-process tests never run at the same time on a 2-core machine.
 * Skipped (with the reason) when network namespaces are not available: not root, no `ip netns`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TempDirs } from '../helpers/temp-dir.js';
import { deployDir, dockerEnv, finalStage, loadCompose, mergeComposeService, parseDockerfile, parseVolume, readDeployFile, type ComposeService } from './deploy-files.js';
import { cli, processEnv, produceAndConsume, startNodes, waitForCluster, type LabNode } from './lab-cluster.js';
import { renderContainer, renderK8s, validated } from './k8s-manifests.js';
import { labUnavailableReason, NetnsLab } from './netns-lab.js';
import { runCommand } from './run-command.js';

const unavailable = labUnavailableReason();
if (unavailable) console.warn(`test/deploy/netns.test.ts skipped: ${unavailable}`);

const compose = loadCompose('docker-compose.yml');
const tlsOverlay = loadCompose('docker-compose.tls.yml');
const imageEnv = dockerEnv(finalStage(parseDockerfile(readDeployFile('Dockerfile'))));
const clusterTimeoutMs = 90_000;

/**
 * The container's environment with container paths replaced by host paths: each volume's target
 * becomes a directory of the test (named volumes: a fresh temp dir; bind mounts: the source).
 */
function mapMounts(service: ComposeService, env: Record<string, string>, named: (volume: string) => string, bind: (source: string) => string): Record<string, string> {
  const mounts = (service.volumes ?? []).map(parseVolume).map((v) => ({ target: v.target, host: v.source.startsWith('.') ? bind(v.source) : named(v.source) }));
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const m = mounts.find((x) => value === x.target || value.startsWith(`${x.target}/`));
    out[key] = m ? join(m.host, value.slice(m.target.length)) : value;
  }
  return out;
}

describe.skipIf(unavailable !== undefined)('deployment command lines in network namespaces', () => {
  const temp = new TempDirs();
  let lab: NetnsLab | undefined;

  afterEach(async () => {
    try {
      await lab?.stopProcesses(15_000);
    } finally {
      lab?.destroy();
      lab = undefined;
      await temp.cleanup();
    }
  });

  async function runCompose(services: Record<string, ComposeService>, bind: (source: string) => string): Promise<{ lab: NetnsLab; nodes: LabNode[] }> {
    const root = await temp.make('replog-compose-');
    const names = Object.keys(services);
    lab = NetnsLab.create(names.map((name) => ({ name })));
    const nodes = Object.entries(services).map(([name, s]) => {
      const named = (volume: string): string => {
        const dir = join(root, volume);
        mkdirSync(dir, { recursive: true });
        return dir;
      };
      return { host: name, args: s.command ?? [], env: mapMounts(s, { ...imageEnv, ...s.environment }, named, bind) };
    });
    return { lab, nodes };
  }

  /** The healthcheck of every service, run inside its namespace with its environment. */
  async function expectHealthy(l: NetnsLab, services: Record<string, ComposeService>, nodes: LabNode[]): Promise<void> {
    for (const node of nodes) {
      const test = services[node.host]?.healthcheck?.test ?? [];
      expect(test[0]).toBe('CMD');
      const res = await l.run(node.host, test.slice(1), processEnv(node.env), deployDir, 15_000);
      expect(res.code, `${node.host} healthcheck: ${res.output}`).toBe(0);
    }
  }

  it('compose: the services form a cluster that accepts a produce on n1 and serves it from n3', async () => {
    const { lab: l, nodes } = await runCompose(compose.services, () => {
      throw new Error('the plain compose file has no bind mounts');
    });
    const agents = startNodes(l, nodes);
    const servers = await waitForCluster(l, 'n2', ['--addr', 'n2:8400'], 3, agents, clusterTimeoutMs);
    // Advertised addresses are the service names (--advertise-addr), reachable from every node.
    expect(servers.map((s) => s.rpcAddr).sort()).toEqual(['n1:8400', 'n2:8400', 'n3:8400']);
    await produceAndConsume(l, { host: 'n1', addr: 'n1:8400', readHost: 'n3', readAddr: 'n3:8400', clientArgs: [], value: 'hello-compose', timeoutMs: 30_000 });
    await expectHealthy(l, compose.services, nodes);
  });

  it('compose with the TLS overlay: mTLS clients and peers, the ACL enforced', async () => {
    const certs = await temp.make('replog-certs-');
    const gen = await runCommand(['bash', join(deployDir, 'gen-certs.sh'), certs], process.env, 60_000);
    expect(gen.code, gen.stderr).toBe(0);
    const merged = Object.fromEntries(Object.entries(compose.services).map(([name, s]) => [name, mergeComposeService(s, tlsOverlay.services[name] ?? {})]));
    const { lab: l, nodes } = await runCompose(merged, (source) => (source === './certs' ? certs : resolve(deployDir, source)));
    const agents = startNodes(l, nodes);
    const tls = (cn: string): string[] => ['--tls-ca-file', join(certs, 'ca.pem'), '--tls-cert-file', join(certs, `${cn}.pem`), '--tls-key-file', join(certs, `${cn}-key.pem`)];
    const servers = await waitForCluster(l, 'n1', ['--addr', 'n1:8400', ...tls('client')], 3, agents, clusterTimeoutMs);
    expect(servers).toHaveLength(3);
    await produceAndConsume(l, { host: 'n2', addr: 'n2:8400', readHost: 'n1', readAddr: 'n1:8400', clientArgs: tls('client'), value: 'hello-tls', timeoutMs: 30_000 });
    // A client whose certificate is not in the policy is refused (the peer certificate's CN is replog-peer).
    const denied = await cli(l, 'n3', ['produce', '--addr', 'n3:8400', ...tls('peer'), 'nope']);
    expect(denied.code).not.toBe(0);
    expect(denied.output).toMatch(/PERMISSION_DENIED|permission/i);
    // Without TLS the port does not serve the API.
    const plain = await cli(l, 'n3', ['produce', '--addr', 'n3:8400', '--timeout-ms', '3000', 'nope']);
    expect(plain.code).not.toBe(0);
    await expectHealthy(l, merged, nodes);
  });

  it('kubernetes: the StatefulSet for ordinals 0-2 forms a cluster reachable through the client Service', async () => {
    const objs = validated(renderK8s());
    const ns = objs.namespace.metadata.name;
    const sts = objs.statefulSet;
    const headless = objs.services.find((s) => s.spec.clusterIP === 'None')?.metadata.name ?? '';
    const clientService = objs.services.find((s) => s.spec.clusterIP === undefined)?.metadata.name ?? '';
    const container = sts.spec.template.spec.containers[0]!;
    const certs = await temp.make('replog-certs-');
    const gen = await runCommand(['bash', join(deployDir, 'gen-certs.sh'), certs], { ...process.env, NAMESPACE: ns }, 60_000);
    expect(gen.code, gen.stderr).toBe(0);
    const root = await temp.make('replog-k8s-');
    const ordinals = Array.from({ length: sts.spec.replicas }, (_, i) => i);
    const dns = (i: number): string => `${sts.metadata.name}-${i}.${headless}.${ns}.svc`;
    // The client Service's name resolves to pod 0 (kube-proxy would pick any ready pod).
    lab = NetnsLab.create(ordinals.map((i) => ({ name: dns(i), aliases: i === 0 ? [`${clientService}.${ns}.svc`] : [] })));
    const nodes = ordinals.map((i): LabNode => {
      const c = renderContainer(objs, i);
      // Each volume mount becomes a directory of the test: the claim a fresh dir, the ConfigMap
      // its files, the Secret the certificates; container paths are rewritten to them.
      const mounts = container.volumeMounts.map((m) => {
        const vol = sts.spec.template.spec.volumes.find((v) => v.name === m.name);
        const host = vol?.secret ? certs : join(root, c.podName, m.name);
        return { from: m.mountPath, to: host, configMap: vol?.configMap !== undefined };
      });
      const rewrite = (text: string): string => mounts.reduce((t, m) => t.replaceAll(`${m.from}/`, `${m.to}/`).replace(new RegExp(`^${m.from}$`), m.to), text);
      for (const m of mounts) mkdirSync(m.to, { recursive: true });
      for (const [path, text] of Object.entries(c.configFiles)) writeFileSync(rewrite(path), rewrite(text));
      const env = Object.fromEntries(Object.entries({ ...imageEnv, ...c.env }).map(([k, v]) => [k, rewrite(v)]));
      return { host: dns(i), args: c.args.map(rewrite), env };
    });
    const agents = startNodes(lab, nodes);
    const tls = ['--tls-ca-file', join(certs, 'ca.pem'), '--tls-cert-file', join(certs, 'client.pem'), '--tls-key-file', join(certs, 'client-key.pem')];
    const servers = await waitForCluster(lab, dns(1), ['--addr', `${dns(1)}:8400`, ...tls], ordinals.length, agents, clusterTimeoutMs);
    expect(servers.map((s) => s.rpcAddr).sort()).toEqual(ordinals.map((i) => `${dns(i)}:8400`));
    await produceAndConsume(lab, { host: dns(1), addr: `${clientService}.${ns}.svc:8400`, readHost: dns(2), readAddr: `${dns(2)}:8400`, clientArgs: tls, value: 'hello-k8s', timeoutMs: 30_000 });
  });
});
