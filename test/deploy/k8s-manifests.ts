/**
 * deploy/k8s as the cluster would get it: rendered by `kubectl kustomize` when kubectl is on the
 * machine (offline, no API server needed), otherwise by a small emulation of the kustomize
 * features the directory uses (resources, namespace, labels, configMapGenerator without the name
 * hash). Plus the StatefulSet's container rendered for one ordinal, as the kubelet would start it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { deployDir, expandK8sVars, parseYamlDoc } from './deploy-files.js';
import { configMapSchema, namespaceSchema, pdbSchema, schemaOfKind, serviceSchema, statefulSetSchema, type ConfigMap, type Pdb, type Service, type StatefulSet } from './k8s-schema.js';

export const k8sDir = join(deployDir, 'k8s');

const kustomizationSchema = z
  .object({
    apiVersion: z.literal('kustomize.config.k8s.io/v1beta1'),
    kind: z.literal('Kustomization'),
    namespace: z.string(),
    labels: z.array(z.object({ pairs: z.record(z.string(), z.string()) }).strict()).default([]),
    resources: z.array(z.string()),
    configMapGenerator: z.array(z.object({ name: z.string(), files: z.array(z.string()) }).strict()).default([]),
    images: z.array(z.object({ name: z.string(), newName: z.string().optional(), newTag: z.string().optional() }).strict()).default([]),
  })
  .strict();

export function kubectlPath(): string | undefined {
  try {
    return execFileSync('which', ['kubectl'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface Rendered {
  renderer: 'kubectl kustomize' | 'emulated kustomize';
  docs: { kind: string; doc: unknown }[];
}

export function renderK8s(useKubectl = kubectlPath() !== undefined): Rendered {
  const text = useKubectl ? execFileSync('kubectl', ['kustomize', k8sDir], { encoding: 'utf8', timeout: 60_000 }) : undefined;
  const docs = text === undefined ? emulateKustomize() : parseAllDocuments(text).map((d) => d.toJS() as unknown);
  return { renderer: useKubectl ? 'kubectl kustomize' : 'emulated kustomize', docs: docs.map((doc) => ({ kind: kindOf(doc), doc })) };
}

function kindOf(doc: unknown): string {
  return z.object({ kind: z.string() }).loose().parse(doc).kind;
}

export function kustomization(): z.output<typeof kustomizationSchema> {
  return kustomizationSchema.parse(parseYamlDoc(readFileSync(join(k8sDir, 'kustomization.yaml'), 'utf8')));
}

function emulateKustomize(): unknown[] {
  const k = kustomization();
  const extraLabels = Object.assign({}, ...k.labels.map((l) => l.pairs)) as Record<string, string>;
  const docs: Record<string, unknown>[] = [];
  for (const file of k.resources) {
    for (const d of parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8'))) docs.push(d.toJS({ maxAliasCount: 100 }) as Record<string, unknown>);
  }
  for (const gen of k.configMapGenerator) {
    const data: Record<string, string> = {};
    for (const entry of gen.files) {
      const [key, file] = entry.includes('=') ? entry.split('=') : [entry, entry];
      data[key ?? entry] = readFileSync(join(k8sDir, file ?? entry), 'utf8');
    }
    docs.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: gen.name }, data });
  }
  for (const doc of docs) {
    const meta = doc.metadata as Record<string, unknown>;
    meta.labels = { ...(meta.labels as Record<string, string> | undefined), ...extraLabels };
    if (doc.kind === 'Namespace') meta.name = k.namespace;
    else meta.namespace = k.namespace;
  }
  return docs;
}

/** The rendered objects, each validated by its schema. */
export interface K8sObjects {
  namespace: z.output<typeof namespaceSchema>;
  configMaps: ConfigMap[];
  services: Service[];
  statefulSet: StatefulSet;
  pdb: Pdb;
}

export function validated(rendered: Rendered): K8sObjects {
  const of = <T extends { metadata: { name: string } }>(kind: string, schema: z.ZodType<T>): T[] =>
    rendered.docs
      .filter((d) => d.kind === kind)
      .map((d) => schema.parse(d.doc))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const d of rendered.docs) {
    if (!(d.kind in schemaOfKind)) throw new Error(`unexpected kind ${d.kind}`);
  }
  const one = <T extends { metadata: { name: string } }>(kind: string, schema: z.ZodType<T>): T => {
    const all = of(kind, schema);
    if (all.length !== 1 || !all[0]) throw new Error(`expected one ${kind}, got ${all.length}`);
    return all[0];
  };
  return {
    namespace: one('Namespace', namespaceSchema),
    configMaps: of('ConfigMap', configMapSchema),
    services: of('Service', serviceSchema),
    statefulSet: one('StatefulSet', statefulSetSchema),
    pdb: one('PodDisruptionBudget', pdbSchema),
  };
}

export interface RenderedContainer {
  podName: string;
  /** args with $(VAR) expanded. */
  args: string[];
  /** The container's own env (image env not included), $(VAR) expanded, downward API filled in. */
  env: Record<string, string>;
  /** Files the container sees from ConfigMap volumes: mount path + key -> content. */
  configFiles: Record<string, string>;
}

/** The first container of the StatefulSet as the kubelet starts it in pod `<name>-<ordinal>`. */
export function renderContainer(objs: K8sObjects, ordinal: number): RenderedContainer {
  const sts = objs.statefulSet;
  const podName = `${sts.metadata.name}-${ordinal}`;
  const fields: Record<string, string> = { 'metadata.name': podName, 'metadata.namespace': objs.namespace.metadata.name };
  const c = sts.spec.template.spec.containers[0];
  if (!c) throw new Error('the StatefulSet has no container');
  const env: Record<string, string> = {};
  for (const e of c.env) {
    const fieldPath = e.valueFrom?.fieldRef.fieldPath;
    const value = fieldPath !== undefined ? fields[fieldPath] : expandK8sVars(e.value ?? '', env);
    if (value === undefined) throw new Error(`env ${e.name}: unsupported field ${fieldPath}`);
    env[e.name] = value;
  }
  const configFiles: Record<string, string> = {};
  for (const mount of c.volumeMounts) {
    const vol = sts.spec.template.spec.volumes.find((v) => v.name === mount.name);
    const cm = vol?.configMap ? objs.configMaps.find((m) => m.metadata.name === vol.configMap?.name) : undefined;
    if (vol?.configMap && !cm) throw new Error(`volume ${mount.name} names ConfigMap ${vol.configMap.name}, which is not rendered`);
    for (const [key, text] of Object.entries(cm?.data ?? {})) configFiles[`${mount.mountPath}/${key}`] = text;
  }
  return { podName, args: c.args.map((a) => expandK8sVars(a, env)), env, configFiles };
}
