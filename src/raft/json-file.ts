import { join } from 'node:path';
import type { z } from 'zod';
import { CorruptionError, errnoCode, StorageError } from '../errors.js';
import { readWholeFile, writeFileAtomic, type FileSystem } from '../log/index.js';

/**
 * A small JSON document replaced atomically (temp file + fsync + rename + directory fsync) and
 * validated by a zod schema when read. The Raft layer keeps its hard state, start metadata and
 * node identity this way: each is tiny and changes rarely.
 */
export class JsonFile<T> {
  readonly path: string;

  constructor(
    private readonly fs: FileSystem,
    dir: string,
    name: string,
    private readonly schema: z.ZodType<T>,
  ) {
    this.path = join(dir, name);
  }

  /** The document, or undefined when the file does not exist. CorruptionError when it is not valid. */
  async read(): Promise<T | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readWholeFile(this.fs, this.path);
    } catch (err) {
      if (err instanceof StorageError && errnoCode(err.cause) === 'ENOENT') return undefined;
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new CorruptionError(this.path, 0, 'not valid JSON');
    }
    const result = this.schema.safeParse(parsed);
    if (!result.success) throw new CorruptionError(this.path, 0, `unexpected content: ${result.error.message}`);
    return result.data;
  }

  /** Durably replaces the document. */
  write(value: T): Promise<void> {
    return writeFileAtomic(this.fs, this.path, Buffer.from(JSON.stringify(value)));
  }
}
