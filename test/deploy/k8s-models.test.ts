import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { renderK8s } from './k8s-manifests.js';

interface Validatable {
  validate(): void;
}
type ModelCtor = new (data: unknown) => Validatable;

const header = z.object({ apiVersion: z.string(), kind: z.string() }).loose();

/** `kubernetes-models` module path of an object: `v1/Service`, `apps/v1/StatefulSet`, ... */
function modulePath(apiVersion: string, kind: string): string {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

describe('Kubernetes manifests against the Kubernetes API schemas (kubernetes-models)', () => {
  it('every rendered object validates against its kind\'s OpenAPI schema', async () => {
    const { docs, renderer } = renderK8s();
    expect(docs.length).toBeGreaterThanOrEqual(6);
    const kinds: string[] = [];
    for (const { doc } of docs) {
      const { apiVersion, kind } = header.parse(doc);
      const mod = (await import(modulePath(apiVersion, kind))) as Record<string, ModelCtor>;
      const Model = mod[kind];
      if (!Model) throw new Error(`kubernetes-models has no ${apiVersion} ${kind}`);
      expect(() => new Model(doc).validate(), `${kind} rendered by ${renderer}`).not.toThrow();
      kinds.push(kind);
    }
    expect(kinds).toEqual(expect.arrayContaining(['StatefulSet', 'Service', 'PodDisruptionBudget', 'ConfigMap']));
  });

  it('the validation really rejects a broken object', async () => {
    const { StatefulSet } = (await import('kubernetes-models/apps/v1/StatefulSet')) as unknown as { StatefulSet: ModelCtor };
    expect(() => new StatefulSet({ metadata: { name: 'x' }, spec: { replicas: 'three', selector: {}, serviceName: 's', template: {} } }).validate()).toThrow(/replicas/);
  });
});
