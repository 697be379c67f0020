// Regenerates the generated parts of the docs (npm run docs): the agent options table in
// docs/operations.md, between its BEGIN/END markers. test/docs checks that it is current.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderOperationsDoc } from '../src/config-docs.js';

const path = new URL('../docs/operations.md', import.meta.url);
writeFileSync(path, renderOperationsDoc(readFileSync(path, 'utf8')));
process.stdout.write('docs/operations.md: options table regenerated\n');
