import { ConfigError } from '../errors.js';

/** A command-line integer option's value, checked against its range (ConfigError naming the option). */
export function intOption(option: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new ConfigError(option, `expected an integer ${range}, got "${text}"`);
  }
  return n;
}
