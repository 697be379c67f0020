import { describe, expect, it } from 'vitest';
import { intOption } from '../../src/cli/int-option.js';
import { ConfigError } from '../../src/errors.js';

describe('intOption', () => {
  it('takes integers within the range and names the option and the range otherwise', () => {
    expect(intOption('--nodes', '3', 1, 9)).toBe(3);
    expect(intOption('--interval-ms', '100', 100)).toBe(100);
    for (const bad of ['0', '10', '2.5', 'x', '']) expect(() => intOption('--nodes', bad, 1, 9)).toThrow(/--nodes: expected an integer from 1 to 9/);
    expect(() => intOption('--interval-ms', '99', 100)).toThrow(ConfigError);
    expect(() => intOption('--interval-ms', '99', 100)).toThrow(/expected an integer >= 100, got "99"/);
  });
});
