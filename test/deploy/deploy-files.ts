/**
 * Readers of the deployment files for the offline tests: the compose files (with their YAML
 * anchors and merge keys), the Dockerfile (instructions, continuations, JSON/exec forms) and the
 * agent's command lines, parsed by the agent's own commander definition and config schema.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { agentCommand } from '../../src/cli/agent-command.js';
import { loadAgentConfig, type AgentConfig } from '../../src/config.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const deployDir = join(repoRoot, 'deploy');

export function readDeployFile(rel: string): string {
  return readFileSync(join(deployDir, rel), 'utf8');
}

/** YAML as compose and kubectl read it: anchors, aliases and `<<` merge keys resolved. */
export function parseYamlDoc(text: string): unknown {
  return parseYaml(text, { merge: true, maxAliasCount: 1000 });
}

// ---- compose ------------------------------------------------------------------------------------

const stringList = z.array(z.string());
const environment = z.union([z.record(z.string(), z.string()), stringList]).transform((e) => (Array.isArray(e) ? envListToMap(e) : e));

export const composeHealthcheckSchema = z
  .object({
    test: z.array(z.string()).min(2),
    interval: z.string(),
    timeout: z.string(),
    retries: z.number().int().positive(),
    start_period: z.string(),
  })
  .strict();

export const composeServiceSchema = z
  .object({
    image: z.string().optional(),
    build: z.object({ context: z.string(), dockerfile: z.string() }).strict().optional(),
    hostname: z.string().optional(),
    command: stringList.optional(),
    environment: environment.optional(),
    volumes: stringList.optional(),
    ports: stringList.optional(),
    healthcheck: composeHealthcheckSchema.optional(),
    restart: z.enum(['no', 'always', 'on-failure', 'unless-stopped']).optional(),
    stop_signal: z.string().optional(),
    stop_grace_period: z.string().optional(),
  })
  .strict();

export const composeFileSchema = z
  .object({
    name: z.string().optional(),
    services: z.record(z.string(), composeServiceSchema),
    volumes: z.record(z.string(), z.null().or(z.object({}).loose())).optional(),
  })
  .catchall(z.unknown())
  .refine((doc) => Object.keys(doc).every((k) => ['name', 'services', 'volumes'].includes(k) || k.startsWith('x-')), {
    message: 'unknown top-level key (only name, services, volumes and x-* extensions are used)',
  });

export type ComposeFile = z.output<typeof composeFileSchema>;
export type ComposeService = z.output<typeof composeServiceSchema>;

export function loadCompose(rel: string): ComposeFile {
  return composeFileSchema.parse(parseYamlDoc(readDeployFile(rel)));
}

/**
 * Compose's merge of an overlay onto a base service (the subset we use): scalars and command are
 * replaced, environment maps are merged, volumes are merged by their target path.
 */
export function mergeComposeService(base: ComposeService, overlay: ComposeService): ComposeService {
  const out: ComposeService = { ...base, ...overlay };
  if (base.environment || overlay.environment) out.environment = { ...base.environment, ...overlay.environment };
  if (base.volumes || overlay.volumes) {
    const byTarget = new Map<string, string>();
    for (const v of [...(base.volumes ?? []), ...(overlay.volumes ?? [])]) byTarget.set(parseVolume(v).target, v);
    out.volumes = [...byTarget.values()];
  }
  return out;
}

/** `source:target[:mode]` of a compose short-syntax volume. */
export function parseVolume(spec: string): { source: string; target: string; mode: string | undefined } {
  const [source, target, mode] = spec.split(':');
  if (!source || !target) throw new Error(`not a SOURCE:TARGET volume: ${spec}`);
  return { source, target, mode };
}

/** `[ip:]host:container[/proto]` of a compose short-syntax port. */
export function parsePort(spec: string): { hostIp: string | undefined; host: number; container: number; protocol: string } {
  const [ports, protocol = 'tcp'] = spec.split('/');
  const parts = (ports ?? '').split(':');
  const container = Number(parts.pop());
  const host = Number(parts.pop());
  return { hostIp: parts.pop(), host, container, protocol };
}

function envListToMap(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq > 0) out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

// ---- Dockerfile ---------------------------------------------------------------------------------

export interface DockerInstruction {
  keyword: string;
  /** Text after the keyword, continuations joined. */
  args: string;
  line: number;
}

/** Instructions of a Dockerfile: comments dropped, `\` continuations joined, keywords upper-cased. */
export function parseDockerfile(text: string): DockerInstruction[] {
  const out: DockerInstruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && pending === undefined)) return;
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    pending = pending ? { text: `${pending.text} ${part}`, line: pending.line } : { text: part, line: i + 1 };
    if (continued) return;
    const m = /^(\S+)\s*(.*)$/s.exec(pending.text);
    if (m?.[1]) out.push({ keyword: m[1].toUpperCase(), args: (m[2] ?? '').trim(), line: pending.line });
    pending = undefined;
  });
  return out;
}

/** The instructions of the last stage (after the last FROM). */
export function finalStage(instructions: DockerInstruction[]): DockerInstruction[] {
  const lastFrom = instructions.map((ins) => ins.keyword).lastIndexOf('FROM');
  return instructions.slice(lastFrom);
}

/** The JSON array of an exec-form instruction; throws on the shell form. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  return z.array(z.string()).parse(parsed);
}

/** `ENV A=1 B=2` instructions of a stage, merged. Values must not need quoting. */
export function dockerEnv(stage: DockerInstruction[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ins of stage.filter((i) => i.keyword === 'ENV')) {
    for (const pair of ins.args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`line ${ins.line}: ENV ${pair} is not KEY=VALUE`);
      out[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return out;
}

/** `--interval=10s` style options and the exec-form command of a HEALTHCHECK. */
export function parseHealthcheck(args: string): { options: Record<string, string>; command: string[] } {
  const options: Record<string, string> = {};
  let rest = args;
  for (;;) {
    const m = /^--([a-z-]+)=(\S+)\s+/.exec(rest);
    if (!m?.[1] || m[2] === undefined) break;
    options[m[1]] = m[2];
    rest = rest.slice(m[0].length);
  }
  if (!rest.startsWith('CMD ')) throw new Error(`HEALTHCHECK without CMD: ${args}`);
  return { options, command: execForm(rest.slice(4).trim()) };
}

// ---- the agent's command line -------------------------------------------------------------------

/**
 * The flags of `agent ARGS...` as the real CLI parses them (commander, the agent's own option
 * list); throws on a subcommand other than agent, an unknown flag or a stray argument.
 */
export function parseAgentArgs(argv: readonly string[]): Record<string, unknown> {
  if (argv[0] !== 'agent') throw new Error(`expected the agent subcommand, got ${JSON.stringify(argv[0])}`);
  const cmd = agentCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  const { operands, unknown } = cmd.parseOptions(argv.slice(1));
  if (unknown.length > 0) throw new Error(`unknown agent flag(s): ${unknown.join(' ')}`);
  if (operands.length > 0) throw new Error(`stray argument(s): ${operands.join(' ')}`);
  return cmd.opts();
}

/** The agent's configuration from a command line, an environment and (optionally) files. */
export function agentConfigOf(argv: readonly string[], env: NodeJS.ProcessEnv, files: Record<string, string> = {}): AgentConfig {
  return loadAgentConfig({
    flags: parseAgentArgs(argv),
    env,
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw new Error(`no such file in the test's mounts: ${path}`);
      return text;
    },
  });
}

/** Replaces Kubernetes `$(VAR)` references as the kubelet does (unknown ones are left as they are). */
export function expandK8sVars(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => vars[name] ?? whole);
}
