/**
 * One replog node: identity and Raft storage on disk, the Raft node driving the segmented log,
 * the log.v1 gRPC service and health service behind the one-port mux (Raft peers on the same
 * port), SWIM gossip for membership, optional mTLS + ACL, and the metrics HTTP server.
 * Components start in order and close in reverse; the start-up contract of ARCHITECTURE 7 decides
 * whether the node resumes, bootstraps, or waits in gossip to join.
 */
import type { AgentConfig } from '../config.js';
import { splitHostPort } from '../config.js';
import { ConfigError } from '../errors.js';
import { NodeFileSystem, parseSyncPolicy } from '../log/index.js';
import type { Logger } from '../logger.js';
import { Membership } from '../membership/index.js';
import type { Mux } from '../mux/mux.js';
import type { NodeId, RaftOptions, SoftState } from '../raft/core/types.js';
import { LogStorage } from '../raft/log-storage.js';
import { DEFAULT_RAFT_OPTIONS } from '../raft/options.js';
import { RaftNode } from '../raft/node.js';
import { RaftReplicatedLog } from '../raft/raft-replicated-log.js';
import { TcpTransport, type PeerTlsOptions } from '../raft/tcp-transport.js';
import { AdminService } from '../gen/log/v1/log.js';
import { createAdminService } from '../server/admin-service.js';
import { AclAuthorizer } from '../server/auth.js';
import { GrpcApiServer } from '../server/grpc-server.js';
import { defaultServiceLimits } from '../server/log-service.js';
import type { MetricsHttpServer } from '../server/metrics-http.js';
import { registerGuardMetrics } from '../server/guard-metrics.js';
import { ServerMetrics } from '../server/metrics.js';
import { Prng } from '../util/prng.js';
import { AddressBook } from './address-book.js';
import { clusterIdOf } from './bootstrap.js';
import { ClusterAdmin, transferTarget } from './cluster-admin.js';
import { ClusterManager } from './cluster-manager.js';
import { ClusterMetrics } from './cluster-metrics.js';
import { ComponentStack } from './component-stack.js';
import { DeferredReplicatedLog } from './deferred-log.js';
import { startRetention, type Retention } from './retention.js';
import { bindGossip, buildAuthorizer, listenMux, loadPeerTls, loadTls, openIdentity, startMetrics } from './agent-setup.js';

/** Connections with no call for this long are closed by the gRPC server. */
const idleConnectionTimeoutMs = 5 * 60_000;

/** How the node came up. */
export type StartMode = 'resume' | 'bootstrap' | 'join';

interface RaftParts {
  node: RaftNode;
  log: RaftReplicatedLog;
  transport: TcpTransport;
}

export class Agent {
  private ready = false;
  private closing: Promise<void> | undefined;
  private raft: RaftParts | undefined;
  private retention: Retention | undefined;
  private readonly joinAbort = new AbortController();

  private constructor(
    readonly config: AgentConfig,
    private readonly logger: Logger,
    private readonly stack: ComponentStack,
    private readonly mux: Mux,
    private readonly metricsHttp: MetricsHttpServer | undefined,
    private readonly grpc: GrpcApiServer,
    readonly log: DeferredReplicatedLog,
    readonly nodeId: NodeId,
    readonly membership: Membership,
    readonly mode: StartMode,
  ) {}

  /** Starts every component; on failure closes what started and rethrows. */
  static async start(config: AgentConfig, rootLogger: Logger): Promise<Agent> {
    const logger = rootLogger.child({ component: 'agent' });
    const stack = new ComponentStack(logger);
    try {
      return await Agent.startComponents(config, rootLogger, logger, stack);
    } catch (err) {
      await stack.close().catch(() => undefined);
      throw err;
    }
  }

  private static async startComponents(config: AgentConfig, rootLogger: Logger, logger: Logger, stack: ComponentStack): Promise<Agent> {
    const tls = await loadTls(config);
    const peerTls = await loadPeerTls(config);
    const authorizer = await buildAuthorizer(config, tls !== undefined);
    const bind = splitHostPort(config.bindAddr);
    if (!bind) throw new ConfigError('--bind-addr', `expected HOST:PORT, got ${config.bindAddr}`);
    const fs = new NodeFileSystem();
    const identity = await openIdentity(fs, config);
    const self = identity.nodeId;
    const metrics = new ServerMetrics();
    const storage = await stack.start('storage', async () =>
      Object.assign(
        await LogStorage.open({
          dir: config.dataDir,
          fs,
          logger: rootLogger,
          logOptions: {
            segment: { maxStoreBytes: config.maxStoreBytes, maxIndexBytes: config.maxIndexBytes },
            maxRecordBytes: config.maxRecordBytes,
            sync: parseSyncPolicy(config.sync),
            inlineSyncMaxMs: config.inlineSyncMaxMs,
            inlineReadMaxMs: config.inlineReadMaxMs,
            onFsync: metrics.observeFsync,
          },
          dedup: { expiryEntries: config.producerExpiryEntries, windowRuns: config.producerWindowRuns },
        }),
        { name: 'storage' },
      ),
    );
    const mode = startMode(config, storage.isInitialized());
    if (mode === 'resume' && (config.bootstrap || config.bootstrapExpect !== undefined)) {
      logger.info('the data dir holds Raft state: resuming it, the bootstrap flags are ignored');
    }
    const addresses = new AddressBook();
    const waiting = { reason: (): string => 'starting' };
    const log = new DeferredReplicatedLog(() => waiting.reason());
    metrics.setLogStats(() => ({ endOffset: log.highestOffset() + 1, sizeBytes: storage.log.sizeBytes(), segmentCount: storage.log.segmentCount() }));
    // Ready once serving and part of a cluster (a node still waiting to join is live, not ready).
    const metricsHttp = await startMetrics(config, stack, metrics, () => agent.ready && agent.raft !== undefined);

    // Closed in reverse: Raft (once started) after gRPC and gossip, before storage.
    stack.push('raft', () => agent.closeRaft());
    const udp = await bindGossip(config, bind);
    const advertiseHost = config.advertiseAddr ?? bind.host;
    const membership: Membership = new Membership({
      name: config.nodeName,
      transport: udp,
      advertiseAddr: `${advertiseHost}:${udp.localAddress().split(':').pop() ?? bind.port}`,
      gossipKey: config.gossipKey,
      logger: rootLogger,
    });
    const clusterMetrics = new ClusterMetrics(metrics.registry, {
      raft: () => agent.raft,
      membership,
      logSize: () => ({ bytes: storage.log.sizeBytes(), entries: storage.lastIndex() - storage.firstIndex() + 1 }),
    });
    stack.push('membership', async () => {
      if (agent.leaving) await membership.leave(2000).catch(() => undefined);
      await membership.close();
    });

    const grpc = new GrpcApiServer({
      log,
      authorizer,
      logger: rootLogger,
      metrics,
      limits: { ...defaultServiceLimits, maxRecordBytes: config.maxRecordBytes, maxBatchBytes: config.maxBatchBytes, stallTimeoutMs: config.consumeStallTimeoutMs },
      idleConnectionTimeoutMs,
      maxConcurrentStreams: 1000,
      maxConsumeBufferBytes: config.maxConsumeBufferBytes,
    });
    stack.push('grpc', () => grpc.close(config.shutdownTimeoutMs));
    const mux = await stack.start('mux', () => listenMux(config, bind.host, grpc, tls, rootLogger));
    registerGuardMetrics(metrics.registry, { mux: () => mux.stats, consumeBudget: grpc.consumeBudget });
    const rpcAddr = `${advertiseHost}:${mux.port()}`;
    const manager = new ClusterManager({
      self,
      rpcAddr,
      membership,
      addresses,
      logger: rootLogger,
      reapTimeoutMs: config.reapTimeoutMs > 0 ? config.reapTimeoutMs : null,
      minVoters: config.bootstrapExpect ?? 1,
      promoteLagEntries: 1000,
      reconcileIntervalMs: 1000,
      onConfigChange: clusterMetrics.onConfigChange,
    });
    const admin = new ClusterAdmin({
      self,
      addresses,
      manager,
      logger: rootLogger,
      // Answer first, then shut down: the caller learns the outcome.
      leave: () => agent.leave(config.shutdownTimeoutMs).finally(() => setTimeout(() => agent.onLeft?.(), 100).unref()),
      electionTimeoutMs: 2 * config.raftTickMs * config.raftElectionTicks,
      onConfigChange: clusterMetrics.onConfigChange,
    });
    grpc.server.addService(AdminService, createAdminService({ authorizer, logger: rootLogger, ops: admin }));
    waiting.reason = () => manager.waitReason();
    stack.push('cluster-manager', () => Promise.resolve(manager.close()));
    stack.push('leadership', () => agent.handOverLeadership());
    const agent = new Agent(config, logger, stack, mux, metricsHttp, grpc, log, self, membership, mode);
    const cluster = identity.identity.cluster;
    manager.publishCluster(cluster?.id, cluster?.initialOffset);
    manager.start();
    membership.start();
    addresses.set(self, rpcAddr);
    agent.joinInBackground(config.startJoinAddrs);

    const startRaft = (clusterId: string): void => {
      agent.raft = startRaftParts({ config, self, clusterId, storage, addresses, peerTls, logger: rootLogger, onLeaderChange: clusterMetrics.onLeaderChange });
      mux.registerRaftHandler((sock) => agent.raft?.transport.accept(sock));
      log.attach(agent.raft.log);
      manager.attach(agent.raft.node);
      agent.retention = startRetention(config, agent.raft.node, storage.log, metrics.registry, rootLogger);
      admin.attach(agent.raft);
      agent.raft.node.start();
    };

    if (mode === 'bootstrap') {
      const initial = { voters: [self], learners: [] };
      const clusterId = clusterIdOf(initial);
      await storage.initialize(config.initialOffset, initial);
      await identity.setCluster(clusterId, config.initialOffset);
      manager.publishCluster(clusterId, config.initialOffset);
      startRaft(clusterId);
    } else if (mode === 'resume') {
      if (!cluster) throw new ConfigError('--data-dir', `${config.dataDir} holds Raft state but no cluster identity (node.json): restore it or wipe the data dir`);
      startRaft(cluster.id);
    } else {
      const expect = config.bootstrapExpect ?? null;
      void (async () => {
        const decision = await manager.awaitStartDecision(expect, agent.joinAbort.signal);
        const clusterId = decision.clusterId;
        const initialOffset = decision.type === 'join' ? decision.initialOffset : config.initialOffset;
        await storage.initialize(initialOffset, decision.type === 'bootstrap' ? decision.config : undefined);
        await identity.setCluster(clusterId, initialOffset);
        manager.publishCluster(clusterId, initialOffset);
        logger.info({ decision: decision.type, clusterId }, decision.type === 'bootstrap' ? 'bootstrapping a new cluster' : 'joining the cluster: waiting for the leader to add this node');
        startRaft(clusterId);
      })().catch((err: unknown) => {
        if (!agent.joinAbort.signal.aborted) logger.error({ err }, 'could not join a cluster');
      });
    }

    grpc.setServing(true);
    agent.ready = true;
    logger.info(
      {
        nodeId: self,
        rpcAddr: agent.rpcAddr(),
        gossipAddr: membership.localMember().addr,
        metricsAddr: metricsHttp?.address(),
        dataDir: config.dataDir,
        mode,
        tls: tls !== undefined,
        peerTls: peerTls !== undefined,
        authorization: authorizer instanceof AclAuthorizer ? 'acl' : tls ? 'any valid client certificate' : 'off',
        sync: config.sync,
      },
      tls ? 'agent started' : 'agent started: plaintext, authorization off (no --server-tls-* flags)',
    );
    return agent;
  }

  /** Set by leave(): the node leaves the cluster for good when it closes. */
  private leaving = false;

  /** Called after an admin Leave was answered (the CLI shuts the process down). */
  onLeft: (() => void) | undefined;

  /** `host:port` the API listens on (the bound port). */
  rpcAddr(): string {
    return `${splitHostPort(this.config.bindAddr)?.host ?? '127.0.0.1'}:${this.mux.port()}`;
  }

  metricsAddr(): string | undefined {
    return this.metricsHttp?.address();
  }

  isReady(): boolean {
    return this.ready;
  }

  /** The Raft node, once this node belongs to a cluster. */
  raftNode(): RaftNode | undefined {
    return this.raft?.node;
  }

  /**
   * Graceful stop: hand leadership over, stop accepting connections, let in-flight calls finish
   * (up to shutdownTimeoutMs), stop gossip (a restart, not a departure, unless the node leaves),
   * then stop Raft and sync and close the log. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ready = false;
      this.joinAbort.abort();
      this.grpc.setServing(false);
      this.logger.info('agent stopping');
      await this.stack.close();
      this.logger.info('agent stopped');
    })();
    return this.closing;
  }

  /**
   * Leaves the cluster for good (leave-on-terminate, admin leave): a leader hands leadership over
   * first; then gossip announces the departure and the leader removes this node from the
   * configuration. Resolves once this node sees itself removed, or after `timeoutMs`.
   */
  async leave(timeoutMs: number): Promise<boolean> {
    this.leaving = true;
    const node = this.raft?.node;
    await this.handOverLeadership();
    await this.membership.leave(Math.min(timeoutMs, 2000));
    if (!node) return true;
    const deadline = Date.now() + timeoutMs;
    const member = (): boolean => {
      const { config } = node.status();
      return config.voters.includes(this.nodeId) || config.learners.includes(this.nodeId);
    };
    while (member() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const removed = !member();
    this.logger.info({ removed }, removed ? 'left the cluster' : 'left gossip, but the removal from the configuration was not seen in time');
    return removed;
  }

  private joinInBackground(seeds: readonly string[]): void {
    if (seeds.length === 0) return;
    this.membership.join(seeds, { signal: this.joinAbort.signal }).catch((err: unknown) => {
      if (!this.joinAbort.signal.aborted) this.logger.warn({ err }, 'gossip join failed');
    });
  }

  /** On SIGTERM: a leader hands leadership to the most caught-up voter first (bounded wait). */
  private async handOverLeadership(): Promise<void> {
    const node = this.raft?.node;
    if (!node || node.softState().role !== 'leader') return;
    const to = transferTarget(node.status(), this.nodeId, (id) => node.status().progress.get(id)?.recentActive === true);
    if (to === undefined) return;
    try {
      node.transferLeadership(to);
    } catch (err) {
      this.logger.warn({ err, to }, 'leadership transfer refused');
      return;
    }
    const deadline = Date.now() + this.config.raftTickMs * this.config.raftElectionTicks * 2;
    while (node.softState().role === 'leader' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.logger.info({ to, transferred: node.softState().role !== 'leader' }, 'leadership handed over');
  }

  private async closeRaft(): Promise<void> {
    await this.retention?.close();
    const raft = this.raft;
    if (!raft) return;
    await raft.log.close();
    await raft.transport.close();
  }
}

function startMode(config: AgentConfig, initialized: boolean): StartMode {
  if (initialized) return 'resume';
  if (config.bootstrap) return 'bootstrap';
  if (config.bootstrapExpect !== undefined || config.startJoinAddrs.length > 0) return 'join';
  throw new ConfigError(
    '--bootstrap',
    `${config.dataDir} holds no Raft state: add --bootstrap (a new one-node cluster), --bootstrap-expect N with --start-join-addrs (a new N-node cluster), or --start-join-addrs (join an existing cluster)`,
  );
}

function startRaftParts(o: {
  config: AgentConfig;
  self: NodeId;
  clusterId: string;
  storage: LogStorage;
  addresses: AddressBook;
  peerTls: PeerTlsOptions | undefined;
  logger: Logger;
  onLeaderChange: (soft: SoftState) => void;
}): RaftParts {
  const transport = new TcpTransport({ localId: o.self, clusterId: o.clusterId, resolve: (id) => o.addresses.get(id), tls: o.peerTls, logger: o.logger });
  const raftOptions: RaftOptions = { ...DEFAULT_RAFT_OPTIONS, id: o.self, electionTicks: o.config.raftElectionTicks };
  const node = new RaftNode({
    raft: raftOptions,
    storage: o.storage,
    transport,
    random: new Prng(Math.floor(Math.random() * 2 ** 32)),
    logger: o.logger,
    tickMs: o.config.raftTickMs,
    onSoftState: o.onLeaderChange,
  });
  const log = new RaftReplicatedLog({
    node,
    storage: o.storage,
    transport,
    addressOf: (id) => o.addresses.get(id),
    logger: o.logger,
    // Long enough for one election with randomized timeouts.
    leaderWaitMs: 3 * o.config.raftTickMs * o.config.raftElectionTicks,
    // A leader that cannot confirm a read in two election timeouts has lost its quorum (CheckQuorum).
    readBarrierTimeoutMs: 2 * o.config.raftTickMs * o.config.raftElectionTicks,
  });
  return { node, log, transport };
}
