/**
 * The agent's configuration: one zod schema validates every source. Sources are merged per option
 * with the precedence flags > environment (`REPLOG_*`) > YAML config file (`--config-file`) >
 * defaults. A bad value raises a ConfigError naming the option as a flag (`--max-store-bytes`),
 * plus the source it came from when that was not a flag.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, errorMessage } from './errors.js';

const MiB = 1024 * 1024;

/** `HOST:PORT` with a port in 0..65535 (IPv6 hosts in brackets: `[::1]:8401`). */
export const hostPortSchema = z.string().refine((s) => splitHostPort(s) !== null, {
  message: 'expected HOST:PORT, e.g. 127.0.0.1:8401',
});

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const nonNegativeInt = z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const bool = z.union([z.boolean(), z.stringbool()]);
const file = z.string().min(1, 'expected a file path');

/** `always`, `never` or `interval:MS` (the segmented log's sync policy). */
export const syncSchema = z
  .string()
  .regex(/^(always|never|interval:[1-9][0-9]*)$/, 'expected always, never or interval:MS (e.g. interval:100)');

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Every agent option, keyed by its camelCase name (the flag is its kebab-case form). */
export const agentConfigSchema = z
  .object({
    nodeName: z.string().min(1).default(hostname()),
    dataDir: z.string({ error: 'is required (the directory that holds the log)' }).min(1),
    bindAddr: hostPortSchema.default('127.0.0.1:8401'),
    rpcPort: port.default(8400),
    advertiseAddr: z.string().min(1).optional(),
    bootstrap: bool.default(false),
    bootstrapExpect: positiveInt.max(99).optional(),
    startJoinAddrs: z
      .union([z.array(z.string()), z.string()])
      .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0))
      .pipe(z.array(hostPortSchema))
      .default([]),
    gossipKey: z
      .string()
      .refine((k) => Buffer.from(k, 'base64').length === 32, { message: 'expected 32 bytes in base64 (e.g. openssl rand -base64 32)' })
      .optional(),
    peerTlsCertFile: file.optional(),
    peerTlsKeyFile: file.optional(),
    peerTlsCaFile: file.optional(),
    leaveOnTerminate: bool.default(false),
    reapTimeoutMs: nonNegativeInt.default(0),
    raftTickMs: positiveInt.max(10_000).default(100),
    raftElectionTicks: positiveInt.min(3).max(1000).default(10),
    serverTlsCertFile: file.optional(),
    serverTlsKeyFile: file.optional(),
    serverTlsCaFile: file.optional(),
    aclModelFile: file.optional(),
    aclPolicyFile: file.optional(),
    metricsAddr: hostPortSchema.optional(),
    sync: syncSchema.default('always'),
    inlineSyncMaxMs: nonNegativeInt.max(1000).default(2),
    inlineReadMaxMs: nonNegativeInt.max(1000).default(1),
    maxStoreBytes: positiveInt.default(1024 * MiB),
    maxIndexBytes: positiveInt.default(10 * MiB),
    initialOffset: nonNegativeInt.default(0),
    maxRecordBytes: positiveInt.max(64 * MiB).default(MiB),
    maxBatchBytes: positiveInt.max(256 * MiB).default(8 * MiB),
    retentionBytes: nonNegativeInt.default(0),
    retentionMs: nonNegativeInt.default(0),
    retentionIntervalMs: positiveInt.max(3_600_000).default(10_000),
    retentionMarginEntries: nonNegativeInt.default(1000),
    producerExpiryEntries: positiveInt.default(1_000_000),
    producerWindowRuns: positiveInt.max(1_000_000).default(1024),
    maxConnections: positiveInt.default(1024),
    firstByteTimeoutMs: positiveInt.default(10_000),
    maxConsumeBufferBytes: positiveInt.default(128 * MiB),
    consumeStallTimeoutMs: positiveInt.max(3_600_000).default(60_000),
    shutdownTimeoutMs: positiveInt.default(10_000),
    logLevel: z.enum(logLevels).default('info'),
  })
  .strict()
  .superRefine(checkCombinations);

export type AgentConfig = z.output<typeof agentConfigSchema>;
export type AgentOption = keyof AgentConfig;

const optionNames = Object.keys(agentConfigSchema.shape) as AgentOption[];

export interface ConfigSources {
  /** Options given as flags, camelCase keys (commander's output); undefined = not given. */
  flags?: Partial<Record<string, unknown>>;
  /** The environment (`REPLOG_DATA_DIR`, ...). */
  env?: NodeJS.ProcessEnv;
  /** Reads the config file (tests inject it); default: the file system. */
  readFile?: (path: string) => string;
}

type Source = 'flag' | 'env' | 'file' | 'default';

/** Merges and validates the sources; throws ConfigError naming the first bad option. */
export function loadAgentConfig(sources: ConfigSources): AgentConfig {
  const env = sources.env ?? {};
  const flags = stripUndefined(sources.flags ?? {});
  const configFile = (flags.configFile as string | undefined) ?? env.REPLOG_CONFIG_FILE;
  delete flags.configFile;
  const fromFile = configFile === undefined ? {} : readConfigFile(configFile, sources.readFile);
  const raw: Record<string, unknown> = {};
  const origin = new Map<string, Source>();
  const layers: [Source, Record<string, unknown>][] = [
    ['file', fromFile],
    ['env', fromEnv(env)],
    ['flag', flags],
  ];
  for (const [source, values] of layers) {
    for (const [key, value] of Object.entries(values)) {
      raw[key] = value;
      origin.set(key, source);
    }
  }
  const parsed = agentConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = issue?.code === 'unrecognized_keys' ? (issue.keys[0] ?? '') : String(issue?.path[0] ?? '');
  const got = key in raw ? ` (got ${JSON.stringify(raw[key])})` : '';
  throw new ConfigError(describeOption(key, origin.get(key) ?? 'default', configFile), `${issue?.message ?? 'invalid'}${got}`);
}

/** `dataDir` -> `--data-dir`. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** `dataDir` -> `REPLOG_DATA_DIR`. */
export function envName(key: string): string {
  return `REPLOG_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** Splits `HOST:PORT`; null when it is not one. */
export function splitHostPort(addr: string): { host: string; port: number } | null {
  const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(addr);
  if (!m?.[1] || !m[2]) return null;
  const portNum = Number(m[2]);
  if (portNum > 65535) return null;
  return { host: m[1].replace(/^\[|\]$/g, ''), port: portNum };
}

function describeOption(key: string, source: Source, configFile: string | undefined): string {
  const flag = flagName(key);
  if (source === 'env') return `${flag} (from ${envName(key)})`;
  if (source === 'file') return `${flag} (from ${kebab(key)} in ${configFile ?? 'the config file'})`;
  return flag;
}

function kebab(key: string): string {
  return flagName(key).slice(2);
}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of optionNames) {
    const value = env[envName(key)];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

function readConfigFile(path: string, readFile = (p: string) => readFileSync(p, 'utf8')): Record<string, unknown> {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    throw new ConfigError('--config-file', `cannot read ${path}: ${errorMessage(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError('--config-file', `${path} is not valid YAML: ${errorMessage(err)}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError('--config-file', `${path} must be a YAML mapping of option: value`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) {
    const camel = key.replace(/[-_]([a-z])/g, (_m, c: string) => c.toUpperCase());
    if (!(optionNames as string[]).includes(camel)) {
      throw new ConfigError('--config-file', `unknown option "${key}" in ${path}`);
    }
    out[camel] = value;
  }
  return out;
}

function stripUndefined(values: Partial<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) if (v !== undefined) out[k] = v;
  return out;
}

interface CombinationInput {
  bootstrap?: boolean | undefined;
  bootstrapExpect?: number | undefined;
  peerTlsCertFile?: string | undefined;
  peerTlsKeyFile?: string | undefined;
  peerTlsCaFile?: string | undefined;
  serverTlsCertFile?: string | undefined;
  serverTlsKeyFile?: string | undefined;
  serverTlsCaFile?: string | undefined;
  aclModelFile?: string | undefined;
  aclPolicyFile?: string | undefined;
}

/** Options that only work together: an issue on the first one missing when some are given. Returns how many are. */
function requireAllOrNone(cfg: CombinationInput, ctx: z.RefinementCtx, keys: readonly (keyof CombinationInput)[], message: string): number {
  const given = keys.filter((k) => cfg[k] !== undefined).length;
  const missing = keys.find((k) => cfg[k] === undefined);
  if (given > 0 && missing !== undefined) ctx.addIssue({ code: 'custom', path: [missing], message });
  return given;
}

function checkCombinations(cfg: CombinationInput, ctx: z.RefinementCtx): void {
  if (cfg.bootstrap === true && cfg.bootstrapExpect !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['bootstrapExpect'], message: 'use either --bootstrap (one node) or --bootstrap-expect N, not both' });
  }
  requireAllOrNone(cfg, ctx, ['peerTlsCertFile', 'peerTlsKeyFile', 'peerTlsCaFile'], 'peer TLS needs all of --peer-tls-cert-file, --peer-tls-key-file and --peer-tls-ca-file');
  const tlsGiven = requireAllOrNone(cfg, ctx, ['serverTlsCertFile', 'serverTlsKeyFile', 'serverTlsCaFile'], 'TLS needs all of --server-tls-cert-file, --server-tls-key-file and --server-tls-ca-file');
  requireAllOrNone(cfg, ctx, ['aclModelFile', 'aclPolicyFile'], 'the ACL needs both --acl-model-file and --acl-policy-file');
  if (cfg.aclModelFile !== undefined && tlsGiven === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['aclModelFile'],
      message: 'the ACL identifies clients by their TLS certificate: it needs the --server-tls-* files',
    });
  }
}
