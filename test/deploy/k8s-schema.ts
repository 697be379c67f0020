/**
 * Structural schemas (zod) of the Kubernetes objects deploy/k8s uses, written from the Kubernetes
 * API reference for the fields we rely on. Objects are strict: a misspelt or misplaced field (which
 * the API server would reject or, worse, silently drop) fails here. This is not the full OpenAPI
 * schema: a schema library (kubernetes-models) would check every field; see docs/deploy.md.
 */
import { z } from 'zod';

const dns1123Label = z.string().max(63).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a DNS-1123 label');
const dns1123Subdomain = z.string().max(253).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a DNS-1123 subdomain');
const portNumber = z.number().int().min(1).max(65535);
/** Port names are IANA_SVC_NAME: at most 15 characters, lower case, a letter somewhere. */
const portName = z.string().max(15).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).refine((s) => /[a-z]/.test(s), 'needs a letter');
const intOrPortName = z.union([portNumber, portName]);
const protocol = z.enum(['TCP', 'UDP', 'SCTP']);
const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/, 'a resource quantity');
const labels = z.record(z.string().max(317).regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/), z.string().max(63));

const metadata = z
  .object({
    name: dns1123Subdomain,
    namespace: dns1123Label.optional(),
    labels: labels.optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .strict();

const selector = z.object({ matchLabels: labels }).strict();

export const namespaceSchema = z.object({ apiVersion: z.literal('v1'), kind: z.literal('Namespace'), metadata }).strict();

export const configMapSchema = z
  .object({ apiVersion: z.literal('v1'), kind: z.literal('ConfigMap'), metadata, data: z.record(z.string().regex(/^[-._a-zA-Z0-9]+$/), z.string()) })
  .strict();

const servicePort = z.object({ name: portName, port: portNumber, targetPort: intOrPortName, protocol }).strict();

export const serviceSchema = z
  .object({
    apiVersion: z.literal('v1'),
    kind: z.literal('Service'),
    metadata,
    spec: z
      .object({
        type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).optional(),
        clusterIP: z.literal('None').optional(),
        publishNotReadyAddresses: z.boolean().optional(),
        selector: labels,
        ports: z.array(servicePort).min(1),
      })
      .strict(),
  })
  .strict();

export const pdbSchema = z
  .object({
    apiVersion: z.literal('policy/v1'),
    kind: z.literal('PodDisruptionBudget'),
    metadata,
    spec: z.object({ maxUnavailable: z.union([z.number().int().min(0), z.string().regex(/^\d+%$/)]), selector }).strict(),
  })
  .strict();

const envVar = z
  .object({
    name: z.string().regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/),
    value: z.string().optional(),
    valueFrom: z.object({ fieldRef: z.object({ fieldPath: z.string() }).strict() }).strict().optional(),
  })
  .strict()
  .refine((e) => (e.value === undefined) !== (e.valueFrom === undefined), 'exactly one of value and valueFrom');

const probe = z
  .object({
    httpGet: z.object({ path: z.string().startsWith('/'), port: intOrPortName }).strict(),
    initialDelaySeconds: z.number().int().min(0).optional(),
    periodSeconds: z.number().int().min(1).optional(),
    timeoutSeconds: z.number().int().min(1).optional(),
    failureThreshold: z.number().int().min(1).optional(),
  })
  .strict();

const resources = z.object({ requests: z.record(z.enum(['cpu', 'memory']), quantity), limits: z.record(z.enum(['cpu', 'memory']), quantity) }).strict();

const container = z
  .object({
    name: dns1123Label,
    image: z.string().min(1),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
    args: z.array(z.string()),
    env: z.array(envVar),
    ports: z.array(z.object({ name: portName, containerPort: portNumber, protocol }).strict()),
    readinessProbe: probe,
    livenessProbe: probe,
    lifecycle: z.object({ preStop: z.object({ exec: z.object({ command: z.array(z.string()).min(1) }).strict() }).strict() }).strict(),
    resources,
    securityContext: z
      .object({
        allowPrivilegeEscalation: z.boolean(),
        readOnlyRootFilesystem: z.boolean(),
        capabilities: z.object({ drop: z.array(z.string()) }).strict(),
      })
      .strict(),
    volumeMounts: z.array(z.object({ name: dns1123Label, mountPath: z.string().startsWith('/'), readOnly: z.boolean().optional() }).strict()),
  })
  .strict();

const volume = z
  .object({
    name: dns1123Label,
    configMap: z.object({ name: dns1123Subdomain }).strict().optional(),
    secret: z.object({ secretName: dns1123Subdomain, defaultMode: z.number().int().min(0).max(0o777).optional() }).strict().optional(),
  })
  .strict()
  .refine((v) => (v.configMap === undefined) !== (v.secret === undefined), 'exactly one volume source');

const podSpec = z
  .object({
    terminationGracePeriodSeconds: z.number().int().min(0),
    securityContext: z
      .object({
        runAsNonRoot: z.boolean(),
        runAsUser: z.number().int().min(0),
        runAsGroup: z.number().int().min(0),
        fsGroup: z.number().int().min(0),
        fsGroupChangePolicy: z.enum(['OnRootMismatch', 'Always']),
        seccompProfile: z.object({ type: z.enum(['RuntimeDefault', 'Unconfined', 'Localhost']) }).strict(),
      })
      .strict(),
    affinity: z
      .object({
        podAntiAffinity: z
          .object({
            preferredDuringSchedulingIgnoredDuringExecution: z.array(
              z.object({ weight: z.number().int().min(1).max(100), podAffinityTerm: z.object({ topologyKey: z.string(), labelSelector: selector }).strict() }).strict(),
            ),
          })
          .strict(),
      })
      .strict(),
    containers: z.array(container).min(1),
    volumes: z.array(volume),
  })
  .strict();

export const statefulSetSchema = z
  .object({
    apiVersion: z.literal('apps/v1'),
    kind: z.literal('StatefulSet'),
    metadata,
    spec: z
      .object({
        serviceName: dns1123Label,
        replicas: z.number().int().min(0),
        podManagementPolicy: z.enum(['OrderedReady', 'Parallel']),
        updateStrategy: z.object({ type: z.enum(['RollingUpdate', 'OnDelete']) }).strict(),
        selector,
        template: z.object({ metadata: z.object({ labels }).strict(), spec: podSpec }).strict(),
        volumeClaimTemplates: z.array(
          z
            .object({
              metadata: z.object({ name: dns1123Label }).strict(),
              spec: z
                .object({
                  accessModes: z.array(z.enum(['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'])).min(1),
                  storageClassName: z.string().optional(),
                  resources: z.object({ requests: z.object({ storage: quantity }).strict() }).strict(),
                })
                .strict(),
            })
            .strict(),
        ),
      })
      .strict(),
  })
  .strict();

export type StatefulSet = z.output<typeof statefulSetSchema>;
export type Service = z.output<typeof serviceSchema>;
export type ConfigMap = z.output<typeof configMapSchema>;
export type Pdb = z.output<typeof pdbSchema>;

/** The schema of each kind deploy/k8s may contain. */
export const schemaOfKind = {
  Namespace: namespaceSchema,
  ConfigMap: configMapSchema,
  Service: serviceSchema,
  PodDisruptionBudget: pdbSchema,
  StatefulSet: statefulSetSchema,
} as const;
