// The public API of replog as a library.
export * from './errors.js';
export { createLogger, silentLogger, type Logger } from './logger.js';
export { VERSION } from './version.js';
export {
  RaftCore,
  MemoryStorage as RaftMemoryStorage,
  RaftRefusedError,
  encodeConfig,
  decodeConfig,
  type RaftOptions,
  type RaftStorage,
  type RaftStatus,
} from './raft/core/index.js';
export * from './log/index.js';
export {
  Membership,
  UdpTransport,
  SimNetwork,
  ManualClock,
  SystemClock,
  parseGossipKey,
  type JoinOptions,
  type Member,
  type MemberState,
  type MembershipEvent,
  type MembershipOptions,
  type MembershipStats,
  type GossipTransport,
} from './membership/index.js';
export type { ReplicatedLog, ConsumedRecord, ServerInfo, AppendOptions, ReadBatchLimits } from './replicated-log.js';
export { loadAgentConfig, agentConfigSchema, type AgentConfig } from './config.js';
export { Agent } from './agent/agent.js';
export { LogApiClient, describeRpcError, type LogApiClientOptions, type ClientTls } from './client/log-client.js';
export { MemoryReplicatedLog } from './server/memory-replicated-log.js';
export { toStatus, LEADER_METADATA_KEY } from './server/status.js';
export { Mux, RAFT_MAGIC_BYTE, type RaftConnectionHandler } from './mux/mux.js';
export {
  ReplogClient,
  type ReplogClientOptions,
  type ProduceOptions,
  type ConsumeStreamOptions,
  type ConsumeOptions,
  type ProduceStreamOptions,
  type ProduceStreamResult,
} from './client/replog-client.js';
export { defaultRetryPolicy, type RetryPolicy } from './client/retry-budget.js';
export { ReplogAdminClient, type AdminClientOptions, type ClusterStatusView, type NodeStatusView } from './client/admin-client.js';
