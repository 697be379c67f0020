import { storageError } from '../errors.js';
import type { FileSystem } from './fs.js';
import type { Segment } from './segment.js';

/** Unlinks the store and index files of `segments`, in the given order (store first in each). */
export async function unlinkSegments(fs: FileSystem, segments: readonly Segment[]): Promise<void> {
  for (const seg of segments) {
    for (const path of [seg.storePath, seg.indexPath]) {
      try {
        await fs.unlink(path);
      } catch (err) {
        throw storageError('unlink', path, err);
      }
    }
  }
}
