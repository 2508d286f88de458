import { describe, expect, it } from 'vitest';
import { spaceBudget } from '../../src/queue/disk.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const defaults = { reserveBytes: 16 * MiB, minFreeBytes: 64 * MiB };

describe('spaceBudget: the reserve and the free-space floor scale to the filesystem', () => {
  it.each([
    ['a 16 MiB filesystem (the smallest the README admits)', 16 * MiB, { reserveBytes: 512 * KiB, minFreeBytes: 512 * KiB, writeBufferSize: 64 * KiB, maxFileSize: 64 * KiB }],
    ['a 40 MB tmpfs', 40 * MiB, { reserveBytes: 1280 * KiB, minFreeBytes: 1280 * KiB, writeBufferSize: 160 * KiB, maxFileSize: 160 * KiB }],
    ['a 1 GiB filesystem', GiB, { reserveBytes: 16 * MiB, minFreeBytes: 32 * MiB, writeBufferSize: 1 * MiB, maxFileSize: 256 * KiB }],
    ['a 32 GB SD card', 32 * GiB, { reserveBytes: 16 * MiB, minFreeBytes: 64 * MiB, writeBufferSize: 1 * MiB, maxFileSize: 256 * KiB }],
    ['a filesystem below every minimum', 1 * MiB, { reserveBytes: 256 * KiB, minFreeBytes: 512 * KiB, writeBufferSize: 32 * KiB, maxFileSize: 32 * KiB }],
  ])('%s', (_, total, expected) => {
    expect(spaceBudget(total, defaults)).toEqual(expected);
  });

  it('keeps a smaller configured size, and 0 turns the reserve or the floor off', () => {
    expect(spaceBudget(32 * GiB, { reserveBytes: 1 * MiB, minFreeBytes: 0 })).toEqual({ reserveBytes: 1 * MiB, minFreeBytes: 0, writeBufferSize: 128 * KiB, maxFileSize: 128 * KiB });
    expect(spaceBudget(32 * GiB, { reserveBytes: 0, minFreeBytes: 0 })).toMatchObject({ reserveBytes: 0, writeBufferSize: 1 * MiB, maxFileSize: 256 * KiB });
  });

  it('leaves room in the reserve for a reopen and a compaction: the write buffer and table files are an eighth of it', () => {
    for (const total of [16 * MiB, 40 * MiB, 300 * MiB, 8 * GiB]) {
      const budget = spaceBudget(total, defaults);
      expect(2 * budget.writeBufferSize + 4 * budget.writeBufferSize + budget.maxFileSize).toBeLessThan(budget.reserveBytes);
    }
  });
});
