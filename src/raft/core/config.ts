/**
 * Cluster configurations: the canonical encoding stored in config entries and snapshots, and
 * the one-server-at-a-time changes (ARCHITECTURE 3a rule 4).
 *
 * Encoding: UTF-8 JSON `{"v":1,"voters":[...],"learners":[...]}` with both lists sorted, so equal
 * configurations encode to identical bytes on every node (rule 3). Decoding validates the shape,
 * the order and the disjointness, and throws InvalidArgumentError on anything else.
 */
import { z } from 'zod';
import { InvalidArgumentError, RaftRefusedError } from '../../errors.js';
import type { ClusterConfig, ConfigChange, NodeId } from './types.js';

const CONFIG_VERSION = 1;

const configSchema = z
  .object({
    v: z.literal(CONFIG_VERSION),
    voters: z.array(z.string().min(1)),
    learners: z.array(z.string().min(1)),
  })
  .strict();

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Deterministic bytes for a configuration (ids sorted). */
export function encodeConfig(config: ClusterConfig): Uint8Array {
  const normal = normalizeConfig(config);
  return encoder.encode(
    JSON.stringify({ v: CONFIG_VERSION, voters: normal.voters, learners: normal.learners }),
  );
}

/** The configuration in `data`; InvalidArgumentError when the bytes are not a valid encoding. */
export function decodeConfig(data: Uint8Array): ClusterConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data));
  } catch (err) {
    throw new InvalidArgumentError(`config entry is not valid JSON: ${String(err)}`);
  }
  const result = configSchema.safeParse(parsed);
  if (!result.success) {
    throw new InvalidArgumentError(`config entry has the wrong shape: ${result.error.message}`);
  }
  const { voters, learners } = result.data;
  if (!isStrictlySorted(voters) || !isStrictlySorted(learners)) {
    throw new InvalidArgumentError('config entry ids are not sorted and unique');
  }
  if (voters.some((id) => learners.includes(id))) {
    throw new InvalidArgumentError('config entry lists an id as both voter and learner');
  }
  return { voters, learners };
}

/** A copy with both lists sorted and de-duplicated; throws when an id is in both lists. */
export function normalizeConfig(config: ClusterConfig): ClusterConfig {
  const voters = [...new Set(config.voters)].sort();
  const learners = [...new Set(config.learners)].sort();
  if (voters.some((id) => learners.includes(id))) {
    throw new InvalidArgumentError('an id cannot be both voter and learner');
  }
  return { voters, learners };
}

export function copyConfig(config: ClusterConfig): ClusterConfig {
  return { voters: [...config.voters], learners: [...config.learners] };
}

export function isVoter(config: ClusterConfig, id: NodeId): boolean {
  return config.voters.includes(id);
}

export function isMember(config: ClusterConfig, id: NodeId): boolean {
  return config.voters.includes(id) || config.learners.includes(id);
}

export function configsEqual(a: ClusterConfig, b: ClusterConfig): boolean {
  return sameList(a.voters, b.voters) && sameList(a.learners, b.learners);
}

/**
 * The configuration after one change. Refuses (InvalidArgumentError) adding an existing member,
 * promoting a non-learner, removing a non-member, and (RaftRefusedError) removing the last voter.
 */
export function applyConfigChange(config: ClusterConfig, change: ConfigChange): ClusterConfig {
  const { id } = change;
  switch (change.type) {
    case 'addLearner':
      if (isMember(config, id)) throw new InvalidArgumentError(`${id} is already a member`);
      return normalizeConfig({ voters: config.voters, learners: [...config.learners, id] });
    case 'promote':
      if (!config.learners.includes(id)) throw new InvalidArgumentError(`${id} is not a learner`);
      return normalizeConfig({
        voters: [...config.voters, id],
        learners: config.learners.filter((l) => l !== id),
      });
    case 'remove':
      if (!isMember(config, id)) throw new InvalidArgumentError(`${id} is not a member`);
      if (config.voters.length === 1 && config.voters[0] === id) {
        throw new RaftRefusedError('last-voter', `refusing to remove ${id}, the last voter`);
      }
      return {
        voters: config.voters.filter((v) => v !== id),
        learners: config.learners.filter((l) => l !== id),
      };
  }
}

function isStrictlySorted(ids: readonly string[]): boolean {
  for (let i = 1; i < ids.length; i++) {
    if ((ids[i - 1] as string) >= (ids[i] as string)) return false;
  }
  return true;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
