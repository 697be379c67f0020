import { describe, expect, it } from 'vitest';
import { assert, AssertionFailure, DiskFullError, OffsetOutOfRangeError, storageError, StorageError } from '../../src/errors.js';

describe('errors', () => {
  it('out-of-range errors say whether the offset is gone or not yet written', () => {
    const gone = new OffsetOutOfRangeError(3, 10, 20);
    expect(gone.reason).toBe('gone');
    expect(gone.message).toContain('lowest available offset is 10');
    const notYet = new OffsetOutOfRangeError(2n ** 64n - 1n, 10, 20);
    expect(notYet.reason).toBe('not-yet');
    expect(notYet.message).toContain('[10, 20]');
    expect(notYet.offset).toBe(2n ** 64n - 1n);
    expect(notYet.name).toBe('OffsetOutOfRangeError');
  });

  it('storageError classifies ENOSPC as disk full', () => {
    const full = storageError('write', '/x', Object.assign(new Error('no space'), { code: 'ENOSPC' }));
    expect(full).toBeInstanceOf(DiskFullError);
    expect(full.code).toBe('DISK_FULL');
    const other = storageError('open', '/y', Object.assign(new Error('denied'), { code: 'EACCES' }));
    expect(other).toBeInstanceOf(StorageError);
    expect(other).not.toBeInstanceOf(DiskFullError);
    expect(other.message).toBe('open /y failed: denied');
  });

  it('assert throws an AssertionFailure', () => {
    expect(() => assert(false, 'x')).toThrow(AssertionFailure);
    expect(() => assert(1 === 1, 'never')).not.toThrow();
  });
});
