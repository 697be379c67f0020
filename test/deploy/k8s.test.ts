/**
 * deploy/k8s, rendered (kubectl kustomize, or an emulation without kubectl), every object checked
 * by a structural schema, the objects checked against each other (selectors, port names, volumes,
 * probes) and against the agent: the StatefulSet's container rendered for ordinals 0, 1 and 2 must
 * be accepted by the agent's own flag parser and config schema, with the image's environment and
 * the ConfigMap's files.
 */
import { describe, expect, it } from 'vitest';
import { envName, splitHostPort } from '../../src/config.js';
import { agentConfigOf, dockerEnv, finalStage, parseDockerfile, parseYamlDoc, readDeployFile } from './deploy-files.js';
import { kubectlPath, renderContainer, renderK8s, validated } from './k8s-manifests.js';

const runtime = finalStage(parseDockerfile(readDeployFile('Dockerfile')));
const imageEnv = dockerEnv(runtime);
const rendered = renderK8s();
const objs = validated(rendered);
const sts = objs.statefulSet;
const pod = sts.spec.template.spec;
const container = pod.containers[0]!;
const ns = objs.namespace.metadata.name;
const headless = objs.services.find((s) => s.spec.clusterIP === 'None');
const client = objs.services.find((s) => s.spec.clusterIP === undefined);

function configFor(ordinal: number): ReturnType<typeof agentConfigOf> {
  const c = renderContainer(objs, ordinal);
  return agentConfigOf(c.args, { ...imageEnv, ...c.env }, c.configFiles);
}

const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe(`deploy/k8s (${rendered.renderer})`, () => {
  it('renders exactly the objects we ship, each valid for its schema, in one namespace', () => {
    expect(rendered.docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Namespace', 'PodDisruptionBudget', 'Service', 'Service', 'StatefulSet']);
    for (const o of [...objs.configMaps, ...objs.services, sts, objs.pdb]) expect(o.metadata.namespace, o.metadata.name).toBe(ns);
  });

  it('runs 3 replicas in parallel behind a headless Service that publishes not-ready pods', () => {
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
    expect(headless?.metadata.name).toBe(sts.spec.serviceName);
    expect(headless?.spec.publishNotReadyAddresses).toBe(true);
    expect(client?.spec.type).toBe('ClusterIP');
    const podLabels = sts.spec.template.metadata.labels;
    expect(matches(sts.spec.selector.matchLabels, podLabels)).toBe(true);
    for (const s of objs.services) expect(matches(s.spec.selector, podLabels), s.metadata.name).toBe(true);
    expect(matches(objs.pdb.spec.selector.matchLabels, podLabels)).toBe(true);
    expect(objs.pdb.spec.maxUnavailable).toBe(1);
  });

  it('names every Service target port after a container port of the same protocol', () => {
    for (const s of objs.services) {
      for (const p of s.spec.ports) {
        const target = container.ports.find((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort);
        expect(target, `${s.metadata.name}/${p.name}`).toBeDefined();
        expect(target?.protocol).toBe(p.protocol);
      }
    }
    expect(headless?.spec.ports.map((p) => `${p.port}/${p.protocol}`).sort()).toEqual(['8400/TCP', '8401/UDP', '8402/TCP']);
  });

  it('exposes the ports the agent listens on and probes /readyz and /healthz on the metrics port', () => {
    const config = configFor(0);
    const port = (name: string): { containerPort: number; protocol: string } | undefined => container.ports.find((p) => p.name === name);
    expect(port('rpc')).toEqual(expect.objectContaining({ containerPort: config.rpcPort, protocol: 'TCP' }));
    expect(port('gossip')).toEqual(expect.objectContaining({ containerPort: splitHostPort(config.bindAddr)?.port, protocol: 'UDP' }));
    expect(port('metrics')).toEqual(expect.objectContaining({ containerPort: splitHostPort(config.metricsAddr ?? '')?.port, protocol: 'TCP' }));
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
  });

  it('keeps each pod\'s data on its own volume claim, mounted at the agent\'s data dir', () => {
    const claims = sts.spec.volumeClaimTemplates.map((v) => v.metadata.name);
    const dataMount = container.volumeMounts.find((m) => claims.includes(m.name));
    expect(dataMount?.mountPath).toBe(configFor(0).dataDir);
    expect(sts.spec.volumeClaimTemplates[0]?.spec.accessModes).toEqual(['ReadWriteOnce']);
  });

  it('takes TLS from a Secret readable by the pod\'s group only, and runs as the image\'s user', () => {
    const secret = pod.volumes.find((v) => v.secret !== undefined);
    expect(secret?.secret).toEqual({ secretName: 'replog-tls', defaultMode: 0o440 });
    const tlsMount = container.volumeMounts.find((m) => m.name === secret?.name);
    const config = configFor(0);
    const tlsFiles = [config.serverTlsCertFile, config.serverTlsKeyFile, config.serverTlsCaFile, config.peerTlsCertFile, config.peerTlsKeyFile, config.peerTlsCaFile];
    for (const f of tlsFiles) expect(f?.startsWith(`${tlsMount?.mountPath}/`), f).toBe(true);
    // The Secret's keys are the names deploy/gen-certs.sh writes (see docs/deploy.md).
    const script = readDeployFile('gen-certs.sh');
    for (const f of tlsFiles) expect(script).toContain(`${(f ?? '').split('/').pop()?.replace(/(-key)?\.pem$/, '')}`);
    const [uid, gid] = (runtime.find((i) => i.keyword === 'USER')?.args ?? '').split(':').map(Number);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: uid, runAsGroup: gid, fsGroup: gid });
  });

  it('gives a stopping pod time for preStop, leadership transfer and draining calls', () => {
    const config = configFor(0);
    const preStop = container.lifecycle.preStop.exec.command;
    expect(preStop[0]).toBe('sleep');
    const preStopS = Number(preStop[1]);
    const electionS = (config.raftTickMs * config.raftElectionTicks * 2) / 1000;
    const needS = preStopS + electionS + config.shutdownTimeoutMs / 1000 + 10;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(needS);
  });

  it('sets resource requests no larger than the limits', () => {
    const bytes = (q: string): number => Number.parseFloat(q) * ({ m: 0.001, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[q.replace(/^[\d.]+/, '')] ?? 1);
    for (const r of ['cpu', 'memory'] as const) {
      expect(bytes(container.resources.requests[r] ?? ''), r).toBeLessThanOrEqual(bytes(container.resources.limits[r] ?? ''));
      expect(bytes(container.resources.requests[r] ?? ''), r).toBeGreaterThan(0);
    }
  });

  it('does not set in config.yaml what the environment overrides (REPLOG_* wins over the file)', () => {
    const cm = renderContainer(objs, 0);
    const fileText = Object.entries(cm.configFiles).find(([path]) => cm.args.includes(path))?.[1];
    const file = parseYamlDoc(fileText ?? '') as Record<string, unknown>;
    const envOptions = new Set(Object.keys({ ...imageEnv, ...cm.env }));
    for (const key of Object.keys(file)) {
      const camel = key.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
      expect(envOptions.has(envName(camel)), key).toBe(false);
    }
  });

  it.each([0, 1, 2])('renders a command line for ordinal %i that the agent accepts, same for every pod but the name', (ordinal) => {
    const config = configFor(ordinal);
    const name = `${sts.metadata.name}-${ordinal}`;
    const dns = (pod: string): string => `${pod}.${headless?.metadata.name}.${ns}.svc`;
    expect(config.nodeName).toBe(name);
    expect(config.advertiseAddr).toBe(dns(name));
    expect(config.bootstrapExpect).toBe(sts.spec.replicas);
    const gossip = splitHostPort(config.bindAddr)?.port;
    expect(config.startJoinAddrs).toEqual([0, 1, 2].map((i) => `${dns(`${sts.metadata.name}-${i}`)}:${gossip}`));
    expect(config.aclModelFile).toBeDefined();
    expect(renderContainer(objs, ordinal).configFiles[config.aclPolicyFile ?? '']).toMatch(/^p, /m);
    expect(config.sync).toBe('always');
  });
});

describe.skipIf(kubectlPath() === undefined)('deploy/k8s with kubectl', () => {
  it('renders the same objects as the emulation, with a content-hashed ConfigMap name', () => {
    const real = validated(renderK8s(true));
    const emulated = validated(renderK8s(false));
    const cmName = real.configMaps[0]?.metadata.name ?? '';
    expect(cmName).toMatch(/^replog-config-[a-z0-9]{10}$/);
    expect(real.statefulSet.spec.template.spec.volumes.find((v) => v.configMap)?.configMap?.name).toBe(cmName);
    // Same objects once the hash is taken out.
    const unhash = (o: unknown): unknown => JSON.parse(JSON.stringify(o).replaceAll(cmName, 'replog-config'));
    expect(unhash(real)).toEqual(emulated);
  });
});
