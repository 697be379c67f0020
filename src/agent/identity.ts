/**
 * A node's identity on disk (ARCHITECTURE 3a rule 2): `<data-dir>/node.json` holds the random
 * UUID created with the data dir, and once the node belongs to a cluster, that cluster's id and
 * initial offset (issue: a wiped node must never form or join a different cluster by accident).
 * The Raft identity is `name/uuid`.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import type { FileSystem } from '../log/index.js';
import type { NodeId } from '../raft/core/types.js';
import { JsonFile } from '../raft/json-file.js';

export interface NodeIdentity {
  name: string;
  uuid: string;
  cluster?: { id: string; initialOffset: number };
}

const schema: z.ZodType<NodeIdentity> = z
  .object({
    name: z.string().min(1),
    uuid: z.string().uuid(),
    cluster: z.object({ id: z.string().min(1), initialOffset: z.number().int().min(0) }).strict().optional(),
  })
  .strict();

export class IdentityFile {
  private readonly file: JsonFile<NodeIdentity>;
  private constructor(
    fs: FileSystem,
    dataDir: string,
    private current: NodeIdentity,
  ) {
    this.file = new JsonFile(fs, dataDir, 'node.json', schema);
  }

  /** Loads the identity, creating it (with a new UUID) for a new data dir. */
  static async open(fs: FileSystem, dataDir: string, name: string): Promise<IdentityFile> {
    await fs.mkdirp(dataDir);
    const file = new JsonFile(fs, dataDir, 'node.json', schema);
    const existing = await file.read();
    if (existing && existing.name !== name) {
      throw new ConfigError('--node-name', `${dataDir} belongs to node "${existing.name}", not "${name}": use its name or another data dir`);
    }
    const identity = existing ?? { name, uuid: randomUUID() };
    if (!existing) await file.write(identity);
    return new IdentityFile(fs, dataDir, identity);
  }

  get nodeId(): NodeId {
    return `${this.current.name}/${this.current.uuid}`;
  }

  get identity(): NodeIdentity {
    return this.current;
  }

  /** Records durably which cluster this node belongs to. */
  async setCluster(id: string, initialOffset: number): Promise<void> {
    const next = { ...this.current, cluster: { id, initialOffset } };
    await this.file.write(next);
    this.current = next;
  }
}
