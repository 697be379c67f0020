import { describe, expect, it } from 'vitest';
import { envName, flagName, loadAgentConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const yaml = (text: string) => () => text;

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('agent config', () => {
  it('fills defaults', () => {
    const c = loadAgentConfig({ flags: { dataDir: '/d' } });
    expect(c).toMatchObject({ dataDir: '/d', bindAddr: '127.0.0.1:8401', rpcPort: 8400, sync: 'always', bootstrap: false, maxRecordBytes: 1024 * 1024 });
    expect(c).toMatchObject({ producerExpiryEntries: 1_000_000, producerWindowRuns: 1024 });
  });

  it('takes the idempotent-producer window from the environment and refuses a zero', () => {
    const c = loadAgentConfig({ flags: { dataDir: '/d' }, env: { REPLOG_PRODUCER_EXPIRY_ENTRIES: '5000', REPLOG_PRODUCER_WINDOW_RUNS: '16' } });
    expect(c).toMatchObject({ producerExpiryEntries: 5000, producerWindowRuns: 16 });
    expect(errorOf(() => loadAgentConfig({ flags: { dataDir: '/d' }, env: { REPLOG_PRODUCER_WINDOW_RUNS: '0' } })).message).toMatch(/producer-window-runs/);
  });

  it('merges flags > env > YAML file > defaults', () => {
    const c = loadAgentConfig({
      flags: { dataDir: '/flag', configFile: 'c.yaml' },
      env: { REPLOG_DATA_DIR: '/env', REPLOG_RPC_PORT: '9000', REPLOG_SYNC: 'never' },
      readFile: yaml('data-dir: /file\nrpc-port: 7000\nsync: interval:50\nmax-store-bytes: 4096\nbootstrap: true\n'),
    });
    expect(c).toMatchObject({ dataDir: '/flag', rpcPort: 9000, sync: 'never', maxStoreBytes: 4096, bootstrap: true });
  });

  it('takes the config file from REPLOG_CONFIG_FILE and parses env booleans', () => {
    const c = loadAgentConfig({ env: { REPLOG_CONFIG_FILE: 'c.yaml', REPLOG_BOOTSTRAP: 'false' }, readFile: yaml('data-dir: /f\nbootstrap: true\n') });
    expect(c.bootstrap).toBe(false);
    expect(c.dataDir).toBe('/f');
  });

  it.each([
    [{ flags: { dataDir: '/d', maxStoreBytes: 'abc' } }, /^--max-store-bytes: .*"abc"/],
    [{ flags: { dataDir: '/d' }, env: { REPLOG_RPC_PORT: '70000' } }, /^--rpc-port \(from REPLOG_RPC_PORT\)/],
    [{ flags: { dataDir: '/d', configFile: 'c.yaml' }, readFile: yaml('sync: sometimes\n') }, /^--sync \(from sync in c\.yaml\): expected always, never or interval:MS/],
    [{ flags: { dataDir: '/d', configFile: 'c.yaml' }, readFile: yaml('colour: blue\n') }, /^--config-file: unknown option "colour"/],
    [{ flags: { dataDir: '/d', configFile: 'c.yaml' }, readFile: yaml('- a\n- b\n') }, /^--config-file: .* mapping/],
    [{ flags: { dataDir: '/d', configFile: 'c.yaml' }, readFile: yaml('a: [\n') }, /^--config-file: .* not valid YAML/],
    [{ flags: {} }, /^--data-dir: is required/],
    [{ flags: { dataDir: '/d', bindAddr: 'nohost' } }, /^--bind-addr: expected HOST:PORT/],
    [{ flags: { dataDir: '/d', serverTlsCertFile: 'c.pem' } }, /^--server-tls-key-file: TLS needs all of/],
    [{ flags: { dataDir: '/d', aclModelFile: 'm' } }, /^--acl-policy-file: the ACL needs both/],
    [{ flags: { dataDir: '/d', aclModelFile: 'm', aclPolicyFile: 'p' } }, /^--acl-model-file: .*--server-tls-\* files/],
    [{ flags: { dataDir: '/d', logLevel: 'loud' } }, /^--log-level:/],
    [{ flags: { dataDir: '/d', initialOffset: '-1' } }, /^--initial-offset:/],
  ])('rejects bad values naming the option (%#)', (sources, message) => {
    expect(errorOf(() => loadAgentConfig(sources)).message).toMatch(message);
  });

  it('a config file that cannot be read is a ConfigError on --config-file', () => {
    const e = errorOf(() => loadAgentConfig({ flags: { dataDir: '/d', configFile: '/nonexistent/c.yaml' } }));
    expect(e.option).toBe('--config-file');
  });

  it('names options as flags and environment variables', () => {
    expect(flagName('maxStoreBytes')).toBe('--max-store-bytes');
    expect(envName('maxStoreBytes')).toBe('REPLOG_MAX_STORE_BYTES');
  });
});
