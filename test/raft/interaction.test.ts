import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScript } from './interaction.js';

const dir = join(import.meta.dirname, 'testdata');
const rewrite = process.env['REWRITE'] === '1';

describe('raft interaction scenarios (test/raft/testdata, REWRITE=1 regenerates)', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
    it(file, () => {
      const path = join(dir, file);
      const source = readFileSync(path, 'utf8');
      const actual = runScript(source);
      if (rewrite) writeFileSync(path, actual);
      else expect(actual).toBe(source);
      expect(actual).not.toMatch(/^error: (?!\w*(NotLeader|Refused|InvalidArgument))/m);
    });
  }
});
