/**
 * The key layout of the queue database, in one place. All keys are ASCII strings, so ranges compare bytewise:
 *
 *   rec/<seq, 16 digits>           QueueRecord { seq, receivedAt, raw }     the log, in seq order
 *   cur/<sink>                     number: last seq the sink acknowledged
 *   drop/<sink>                    number: records retention removed before the sink had them
 *   dropby/<sink>/<reason>         number: the same, for one DropReason (not in drop/'s range: 'b' > '/')
 *   dead/<sink>/<seq, 16 digits>   StoredDeadLetter: a record the sink refused, with the reason
 *   meta/floor                     number: highest seq retention ever removed (keeps seq monotonic on an empty log)
 *   clock/<from seq, 16 digits>    ClockCorrection: receive times of seqs [from, to] are off by deltaMs
 *
 * Sink names are URI-encoded, so a name containing '/' cannot reach into another sink's range.
 */

/** Number.MAX_SAFE_INTEGER has 16 digits: every safe seq fits, and string order equals numeric order. */
const SEQ_DIGITS = 16;
/** Upper bound for prefix ranges: above every ASCII character. */
const HIGH = '\xff';

export interface KeyRange {
  gt: string;
  lt: string;
}

export function padSeq(seq: number): string {
  return String(seq).padStart(SEQ_DIGITS, '0');
}

export function recordKey(seq: number): string {
  return `rec/${padSeq(seq)}`;
}

export const RECORD_RANGE: KeyRange = { gt: 'rec/', lt: `rec/${HIGH}` };

/** Records with seq > after. */
export function recordsAfter(after: number): KeyRange {
  return { gt: recordKey(after), lt: RECORD_RANGE.lt };
}

/** Records with after < seq <= last: readers see only appends whose write has completed. */
export function recordsBetween(after: number, last: number): { gt: string; lte: string } {
  return { gt: recordKey(after), lte: recordKey(last) };
}

export function seqOfRecordKey(key: string): number {
  return Number(key.slice('rec/'.length));
}

export function cursorKey(sink: string): string {
  return `cur/${encodeURIComponent(sink)}`;
}

export const CURSOR_RANGE: KeyRange = { gt: 'cur/', lt: `cur/${HIGH}` };

export function sinkOfCursorKey(key: string): string {
  return decodeURIComponent(key.slice('cur/'.length));
}

export function droppedKey(sink: string): string {
  return `drop/${encodeURIComponent(sink)}`;
}

export const DROPPED_RANGE: KeyRange = { gt: 'drop/', lt: `drop/${HIGH}` };

export function sinkOfDroppedKey(key: string): string {
  return decodeURIComponent(key.slice('drop/'.length));
}

export function droppedByReasonKey(sink: string, reason: string): string {
  return `dropby/${encodeURIComponent(sink)}/${reason}`;
}

export const DROPPED_BY_REASON_RANGE: KeyRange = { gt: 'dropby/', lt: `dropby/${HIGH}` };

export function sinkAndReasonOfKey(key: string): { sink: string; reason: string } {
  const [sink = '', reason = ''] = key.slice('dropby/'.length).split('/');
  return { sink: decodeURIComponent(sink), reason };
}

export function deadLetterKey(sink: string, seq: number): string {
  return `dead/${encodeURIComponent(sink)}/${padSeq(seq)}`;
}

export function deadLettersOf(sink: string): KeyRange {
  const prefix = `dead/${encodeURIComponent(sink)}/`;
  return { gt: prefix, lt: `${prefix}${HIGH}` };
}

export const DEAD_LETTER_RANGE: KeyRange = { gt: 'dead/', lt: `dead/${HIGH}` };

export const FLOOR_KEY = 'meta/floor';

export function clockCorrectionKey(fromSeq: number): string {
  return `clock/${padSeq(fromSeq)}`;
}

export const CLOCK_RANGE: KeyRange = { gt: 'clock/', lt: `clock/${HIGH}` };
