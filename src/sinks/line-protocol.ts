import type { QueueRecord } from '../queue/types.js';
import type { ParseOptions } from '../telegram/types.js';
import { INTEGER_FIELDS, recordToPoints, type Point } from './points.js';

export type Precision = 's' | 'ms' | 'ns';

const TAG_SPECIAL = /[,= \\\n\r\t]/;
const TAG_ESCAPE = /[,= \\]/g;
const CONTROL = /[\n\r\t]/g;
const MEASUREMENT_SPECIAL = /[, \\\n\r\t]/;
const MEASUREMENT_ESCAPE = /[, \\]/g;

/** Tag keys, tag values and field keys: `,` `=` ` ` and `\` are escaped; line breaks and tabs cannot be, so become spaces. */
export function escapeKey(text: string): string {
  if (!TAG_SPECIAL.test(text)) return text;
  return text.replace(CONTROL, ' ').replace(TAG_ESCAPE, (c) => `\\${c}`);
}

export function escapeMeasurement(text: string): string {
  if (!MEASUREMENT_SPECIAL.test(text)) return text;
  return text.replace(CONTROL, ' ').replace(MEASUREMENT_ESCAPE, (c) => `\\${c}`);
}

function timestamp(ms: number, precision: Precision): string {
  switch (precision) {
    case 's':
      return String(Math.floor(ms / 1000));
    case 'ms':
      return String(Math.trunc(ms));
    case 'ns':
      // String arithmetic: ms * 1e6 is beyond 2^53.
      return `${Math.trunc(ms)}000000`;
  }
}

/**
 * One point in InfluxDB line protocol: `measurement,tag=v field=1.5,tariff=2i 1700000000`. Integer fields carry
 * `i`; a float that happens to be whole stays a float (`2`), so a field never changes type. A point without a
 * finite field gives '' (line protocol has no empty points).
 */
export function toLine(point: Point, precision: Precision = 's'): string {
  let line = escapeMeasurement(point.measurement);
  const tagKeys = Object.keys(point.tags);
  if (tagKeys.length > 1) tagKeys.sort();
  for (const key of tagKeys) {
    const value = point.tags[key]!;
    if (value !== '') line += `,${escapeKey(key)}=${escapeKey(value)}`;
  }
  let first = true;
  for (const key in point.fields) {
    const value = point.fields[key]!;
    if (!Number.isFinite(value)) continue;
    const field = fieldKey(key);
    if (field.integer && !Number.isSafeInteger(value)) continue;
    line += `${first ? ' ' : ','}${field.prefix}${field.integer ? `${value}i` : String(value)}`;
    first = false;
  }
  if (first) return '';
  return `${line} ${timestamp(point.time, precision)}`;
}

/** Field names repeat in every telegram: escape each once. */
const fieldKeys = new Map<string, { prefix: string; integer: boolean }>();
const MAX_FIELD_KEYS = 1024;

function fieldKey(key: string): { prefix: string; integer: boolean } {
  let entry = fieldKeys.get(key);
  if (entry === undefined) {
    entry = { prefix: `${escapeKey(key)}=`, integer: INTEGER_FIELDS.has(key) };
    if (fieldKeys.size < MAX_FIELD_KEYS) fieldKeys.set(key, entry);
  }
  return entry;
}

/** Points -> lines, exact duplicates removed (the same M-Bus reading repeats in every telegram until the next one). */
export function toLines(points: Iterable<Point>, precision: Precision = 's'): string[] {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const point of points) {
    const line = toLine(point, precision);
    if (line === '' || seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
  }
  return lines;
}

/**
 * Stored records -> lines, record by record: only the lines outlive the loop (a batch of parsed telegrams and
 * their points would be promoted to the old generation, and a drain's memory would grow with the batch).
 */
export function recordsToLines(records: readonly QueueRecord[], parse: ParseOptions = {}, precision: Precision = 's'): string[] {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const record of records) {
    for (const point of recordToPoints(record, parse)) {
      const line = toLine(point, precision);
      if (line === '' || seen.has(line)) continue;
      seen.add(line);
      lines.push(line);
    }
  }
  return lines;
}
