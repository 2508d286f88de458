import fc from 'fast-check';
import { expect, it } from 'vitest';
import * as keys from '../../src/queue/keys.js';
import { droppedBySink, recordsForBytes } from '../../src/queue/retention.js';

it('record keys sort like their seqs and stay inside the record range', () => {
  fc.assert(
    fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), (a, b) => {
      const ka = keys.recordKey(a);
      const kb = keys.recordKey(b);
      expect(ka < kb).toBe(a < b);
      expect(ka > keys.RECORD_RANGE.gt && ka < keys.RECORD_RANGE.lt).toBe(true);
      expect(keys.seqOfRecordKey(ka)).toBe(a);
    }),
  );
});

it("a sink's keys never fall in another sink's range, whatever the names", () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), fc.nat(), (a, b, seq) => {
      fc.pre(a !== b);
      const range = keys.deadLettersOf(a);
      const other = keys.deadLetterKey(b, seq);
      expect(other > range.gt && other < range.lt).toBe(false);
      expect(keys.sinkOfCursorKey(keys.cursorKey(a))).toBe(a);
      expect(keys.sinkOfDroppedKey(keys.droppedKey(a))).toBe(a);
    }),
  );
});

it('counts as dropped, per sink, the removed records it had not acknowledged', () => {
  const cursors = new Map([
    ['behind', 3],
    ['inside', 12],
    ['ahead', 40],
  ]);
  expect(droppedBySink(cursors, 10, 20)).toEqual(
    new Map([
      ['behind', 11],
      ['inside', 8],
    ]),
  );
});

it('turns bytes to free into a number of records from the average footprint', () => {
  expect(recordsForBytes(0, 1000, 10)).toBe(0);
  expect(recordsForBytes(250, 1000, 10)).toBe(3);
  expect(recordsForBytes(5000, 1000, 10)).toBe(10);
  expect(recordsForBytes(1, 1000, 10)).toBe(1);
});
