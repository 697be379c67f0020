import type { NodeId } from '../raft/core/types.js';

/**
 * Where each node's mux listens (`host:port`, as advertised in its gossip tags). The last known
 * address of a member is kept while it is down (ARCHITECTURE 7), so GetServers and the Raft
 * transport keep naming it.
 */
export class AddressBook {
  private readonly addrs = new Map<NodeId, string>();

  set(id: NodeId, rpcAddr: string): void {
    this.addrs.set(id, rpcAddr);
  }

  get(id: NodeId): string | undefined {
    return this.addrs.get(id);
  }

  /** Forgets identities that are no longer members, keeping at most `keep`. */
  retain(keep: ReadonlySet<NodeId>): void {
    for (const id of this.addrs.keys()) if (!keep.has(id)) this.addrs.delete(id);
  }
}
