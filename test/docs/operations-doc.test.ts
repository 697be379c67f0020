import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../src/config.js';
import { optionDocs, renderOperationsDoc } from '../../src/config-docs.js';

describe('docs/operations.md', () => {
  it('lists every agent option as the schema defines it (run `npm run docs` when this fails)', () => {
    const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    expect(renderOperationsDoc(doc), 'docs/operations.md is stale: run npm run docs').toBe(doc);
  });

  it('documents exactly the options of the schema', () => {
    expect(Object.keys(optionDocs).sort()).toEqual(Object.keys(agentConfigSchema.shape).sort());
  });
});
