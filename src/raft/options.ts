import type { RaftOptions } from './core/types.js';

/**
 * The Raft tuning the agent runs with (and the Raft benchmark measures): heartbeat every tick,
 * PreVote and CheckQuorum on, up to 256 AppendEntries or 64 MiB in flight per follower, 1 MiB of
 * entries per message, promotion of a learner within 1,000 entries of the leader.
 */
export const DEFAULT_RAFT_OPTIONS: Omit<RaftOptions, 'id'> = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  maxInflightMsgs: 256,
  maxInflightBytes: 64 * 1024 * 1024,
  maxMsgBytes: 1024 * 1024,
  promoteLagEntriesMax: 1000,
};
