import type { QueueRecord } from '../queue/types.js';
import type { ParseOptions } from '../telegram/types.js';
import { ELECTRICITY_FIELD_NAMES, INTEGER_FIELDS, mapRecord, newMappedTelegram, type MappedTelegram, type Point } from './points.js';

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
 * Exact duplicates among lines, found by their timestamp first: comparing a line with the few of the same
 * timestamp costs less than hashing every line of some 700 characters.
 */
class UniqueLines {
  readonly lines: string[] = [];
  private readonly byTime = new Map<number, string | string[]>();

  constructor(private readonly precision: Precision) {}

  add(line: string, ms: number): void {
    // The timestamp as written: two times within one second are the same time at precision 's'.
    const time = this.precision === 's' ? Math.floor(ms / 1000) : Math.trunc(ms);
    const known = this.byTime.get(time);
    if (known === undefined) {
      this.byTime.set(time, line);
    } else if (typeof known === 'string') {
      if (known === line) return;
      this.byTime.set(time, [known, line]);
    } else {
      if (known.includes(line)) return;
      known.push(line);
    }
    this.lines.push(line);
  }
}

/** `name=` of each electricity field, by id, and whether it is an integer field. */
const FIELD_PREFIXES = ELECTRICITY_FIELD_NAMES.map((name) => `${escapeKey(name)}=`);
const FIELD_INTEGER = ELECTRICITY_FIELD_NAMES.map((name) => INTEGER_FIELDS.has(name));
/** Per field id, the last value written and its `name=value` text: most registers hold still from one telegram to the next. */
const lastValues = new Float64Array(ELECTRICITY_FIELD_NAMES.length).fill(Number.NaN);
const lastTexts: string[] = ELECTRICITY_FIELD_NAMES.map(() => '');
/** `electricity,meter=<id>` for the last meter seen (one meter per installation). */
let lastMeter: string | undefined;
let lastHead = 'electricity';
const parts: string[] = [];

function fieldText(id: number, value: number): string {
  if (lastValues[id] === value) return lastTexts[id]!;
  const text = FIELD_PREFIXES[id]! + (FIELD_INTEGER[id] ? `${value}i` : String(value));
  lastValues[id] = value;
  lastTexts[id] = text;
  return text;
}

/**
 * The electricity point of a mapped telegram as one line, the same text toLine gives for its Point: mapped
 * values are finite and integer fields safe integers, so none is left out. Built with one join, so the line is
 * one flat string rather than a tree of some 70 concatenations that the heap would hold until the batch is sent.
 */
function electricityLine(mapped: MappedTelegram, time: number, precision: Precision): string {
  if (mapped.meter !== lastMeter) {
    lastMeter = mapped.meter;
    lastHead = mapped.meter === undefined || mapped.meter === '' ? 'electricity' : `electricity,meter=${escapeKey(mapped.meter)}`;
  }
  const count = mapped.fieldCount;
  parts.length = 0;
  for (let i = 0; i < count; i++) parts.push(fieldText(mapped.fieldIds[i]!, mapped.fieldValues[i]!));
  parts[0] = `${lastHead} ${parts[0]!}`;
  parts[count - 1] = `${parts[count - 1]!} ${timestamp(time, precision)}`;
  return parts.join(',');
}

const mapped = newMappedTelegram();

/**
 * Stored records -> lines, record by record (the raw text is the record of truth: parsed again here, so parser
 * fixes apply): the same lines as toLines over their points, without building the electricity points. Only the
 * lines outlive the loop (a batch of parsed telegrams would be promoted to the old generation, and a drain's
 * memory would grow with the batch).
 */
export function recordsToLines(records: readonly QueueRecord[], parse: ParseOptions = {}, precision: Precision = 's'): string[] {
  const unique = new UniqueLines(precision);
  for (const record of records) {
    mapRecord(record, parse, mapped);
    if (mapped.time !== undefined) unique.add(electricityLine(mapped, mapped.time, precision), mapped.time);
    for (const point of mapped.extra) {
      const line = toLine(point, precision);
      if (line !== '') unique.add(line, point.time);
    }
  }
  return unique.lines;
}
