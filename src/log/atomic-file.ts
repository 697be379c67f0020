import { dirname } from 'node:path';
import { storageError } from '../errors.js';
import type { FileSystem } from './fs.js';

/**
 * Replaces `path` with `data` atomically and durably: write a temp file, fsync it, rename it over
 * `path`, fsync the directory. After a crash the file holds either the old or the new content.
 * The Raft layer keeps term/vote and the start metadata this way.
 */
export async function writeFileAtomic(fs: FileSystem, path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const file = await io('open', tmp, fs.open(tmp, 'create'));
  try {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await io('write', tmp, file.write(buf, 0, buf.length, 0));
    await io('fsync', tmp, file.sync());
  } finally {
    await file.close().catch(() => undefined);
  }
  await io('rename', tmp, fs.rename(tmp, path));
  await io('fsync', dirname(path), fs.fsyncDir(dirname(path)));
}

/** Reads a whole file written by writeFileAtomic (ENOENT-style StorageError when missing). */
export async function readWholeFile(fs: FileSystem, path: string): Promise<Buffer> {
  const file = await io('open', path, fs.open(path, 'existing'));
  try {
    const size = await io('fstat', path, file.sizeBytes());
    const buf = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const n = await io('read', path, file.read(buf, done, size - done, done));
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  } finally {
    await file.close().catch(() => undefined);
  }
}

async function io<T>(op: string, path: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw storageError(op, path, err);
  }
}
