import { lookupObis, type ObjectKind } from './obis.js';
import { parseDsmrTime } from './time.js';
import type {
  CosemObject,
  FailureEvent,
  LineError,
  ParseOptions,
  PeakHistoryEntry,
  Quantity,
  Telegram,
  CrcStatus,
} from './types.js';

/** Thrown inside line parsing; becomes a LineError, never escapes parseTelegram. */
class LineSyntaxError extends Error {}

const REFERENCE = /^\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}(\*\d{1,3})?$/;

/**
 * Text of one framed telegram -> Telegram. Pure and total: malformed lines are reported in `errors` with their
 * line number, unknown references are kept with their raw line, and nothing throws for bad content.
 * `crc` is what the framer established ('ok' when the CRC matched, 'none' when the meter sends none).
 */
export function parseTelegram(raw: string, options: ParseOptions & { crc?: CrcStatus } = {}): Telegram {
  const lines = raw.split('\n');
  const headerLine = stripCr(lines[0] ?? '');
  const header = headerLine.startsWith('/') ? headerLine.slice(1) : headerLine;
  const timeZone = options.timeZone ?? (header.startsWith('FLU') ? 'Europe/Brussels' : 'Europe/Amsterdam');
  const objects: Record<string, CosemObject> = {};
  const errors: LineError[] = [];
  /** DSMR 2.2/3 gas waits for its value on the next line. */
  let awaitingValue: CosemObject | null = null;

  for (let i = 1; i < lines.length; i++) {
    const line = stripCr(lines[i]!).trimEnd();
    if (line.length === 0) continue;
    if (line.charCodeAt(0) === 0x21 /* ! */) break;
    try {
      if (line.charCodeAt(0) === 0x28 /* ( */ && awaitingValue !== null) {
        const groups = splitGroups(line, 0);
        awaitingValue.value = toNumber(groups[0] ?? '');
        awaitingValue = null;
        continue;
      }
      const open = line.indexOf('(');
      if (open <= 0) throw new LineSyntaxError('expected OBIS-REFERENCE(value)');
      const reference = line.slice(0, open);
      if (!REFERENCE.test(reference)) throw new LineSyntaxError(`"${reference}" is not an OBIS reference`);
      const groups = splitGroups(line, open);
      const definition = lookupObis(reference);
      const object = definition === undefined ? genericObject(groups, line, timeZone) : shapeObject(definition.kind, groups, timeZone);
      objects[reference] = object;
      awaitingValue = definition?.kind === 'legacy-gas' && object.value === null ? object : null;
    } catch (error) {
      if (!(error instanceof LineSyntaxError)) throw error;
      errors.push({ line: i + 1, text: line, reason: error.message });
      awaitingValue = null;
    }
  }

  const telegram: Telegram = {
    header,
    version: versionOf(objects),
    time: timeOf(objects),
    crc: options.crc ?? (/!\s*[0-9A-Fa-f]{1,4}\s*$/.test(raw) ? 'ok' : 'none'),
    objects,
  };
  if (errors.length > 0) telegram.errors = errors;
  return telegram;
}

function stripCr(line: string): string {
  return line.charCodeAt(line.length - 1) === 0x0d ? line.slice(0, -1) : line;
}

/** `REF(a)(b)(c)` from the first '(' -> ['a', 'b', 'c']. */
function splitGroups(line: string, open: number): string[] {
  const groups: string[] = [];
  let pos = open;
  while (pos < line.length) {
    if (line.charCodeAt(pos) !== 0x28) throw new LineSyntaxError(`expected "(" at column ${pos + 1}`);
    const close = line.indexOf(')', pos + 1);
    if (close === -1) throw new LineSyntaxError('missing ")"');
    groups.push(line.slice(pos + 1, close));
    pos = close + 1;
  }
  return groups;
}

function isDecimal(text: string): boolean {
  let i = text.charCodeAt(0) === 0x2d /* - */ ? 1 : 0;
  let digits = 0;
  let dot = false;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (c === 0x2e && !dot) dot = true;
    else return false;
  }
  return digits > 0;
}

function toNumber(text: string): number {
  if (!isDecimal(text)) throw new LineSyntaxError(`"${text}" is not a number`);
  return Number(text);
}

/** `000004.426*kWh` -> { value: 4.426, unit: 'kWh' }; `0002` -> { value: 2 }. */
function quantity(text: string): { value: number; unit?: string } {
  const star = text.indexOf('*');
  if (star === -1) return { value: toNumber(text) };
  return { value: toNumber(text.slice(0, star)), unit: text.slice(star + 1) };
}

function quantityObject(text: string): CosemObject {
  const q = quantity(text);
  return q.unit === undefined ? { value: q.value } : { value: q.value, unit: q.unit };
}

function onlyGroup(groups: string[]): string {
  if (groups.length !== 1) throw new LineSyntaxError(`expected one value, found ${groups.length}`);
  return groups[0]!;
}

function shapeObject(kind: ObjectKind, groups: string[], timeZone: string): CosemObject {
  switch (kind) {
    case 'number':
      return quantityObject(onlyGroup(groups));
    case 'string':
      return { value: onlyGroup(groups) };
    case 'hex': {
      const value = onlyGroup(groups);
      const text = decodeHexText(value);
      return text === null ? { value } : { value, text };
    }
    case 'time':
      return { value: parseDsmrTime(onlyGroup(groups), timeZone) };
    case 'timed':
      return timedObject(groups, timeZone);
    case 'failure-log':
      return { value: failureLog(groups, timeZone) };
    case 'peak-history':
      return peakHistory(groups, timeZone);
    case 'legacy-gas':
      return legacyGas(groups, timeZone);
  }
}

/** `(time)(value*unit)`; meters with nothing connected send `(700101010000W)(00000000)`. */
function timedObject(groups: string[], timeZone: string): CosemObject {
  if (groups.length !== 2) throw new LineSyntaxError(`expected (time)(value), found ${groups.length} values`);
  const object = quantityObject(groups[1]!);
  object.time = parseDsmrTime(groups[0]!, timeZone);
  return object;
}

function failureLog(groups: string[], timeZone: string): FailureEvent[] {
  const count = Number(groups[0]);
  if (!Number.isInteger(count) || !isDecimal(groups[0] ?? '')) throw new LineSyntaxError('failure log: bad count');
  if (groups.length !== 2 + 2 * count) {
    throw new LineSyntaxError(`failure log: ${count} entries announced, ${Math.max(0, groups.length - 2) / 2} sent`);
  }
  const events: FailureEvent[] = [];
  for (let i = 0; i < count; i++) {
    const q = quantity(groups[3 + 2 * i]!);
    events.push({ time: parseDsmrTime(groups[2 + 2 * i]!, timeZone), duration: q.value, unit: q.unit ?? 's' });
  }
  return events;
}

/** Belgian `(n)(1-0:1.6.0)(1-0:1.6.0)` + n x `(month)(peak time)(value*kW)`; other meters' monthly registers are generic. */
function peakHistory(groups: string[], timeZone: string): CosemObject {
  if (groups.length < 3 || !(groups[1] ?? '').includes(':')) return genericValues(groups, timeZone);
  const count = toNumber(groups[0]!);
  if (groups.length !== 3 + 3 * count) {
    throw new LineSyntaxError(`peak history: ${count} months announced, ${(groups.length - 3) / 3} sent`);
  }
  const months: PeakHistoryEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = 3 + 3 * i;
    const q = quantity(groups[at + 2]!);
    months.push({
      time: parseDsmrTime(groups[at]!, timeZone),
      peakTime: parseDsmrTime(groups[at + 1]!, timeZone),
      value: q.value,
      unit: q.unit ?? 'kW',
    });
  }
  return { value: months };
}

/** DSMR 2.2/3: `(time)(..)(..)(..)(0-1:24.2.1)(m3)`; the value follows on the next line (or as a 7th group). */
function legacyGas(groups: string[], timeZone: string): CosemObject {
  if (groups.length < 6) throw new LineSyntaxError(`gas reading: expected 6 values, found ${groups.length}`);
  const value = groups.length > 6 ? toNumber(groups[6]!) : null;
  return { value, unit: groups[5]!, time: parseDsmrTime(groups[0]!, timeZone) };
}

const TIMESTAMP = /^\d{12}[SW]?$/;

/** Unknown references: the common shapes, plus the raw line so nothing is lost. */
function genericObject(groups: string[], line: string, timeZone: string): CosemObject {
  const object = genericValues(groups, timeZone);
  object.raw = line;
  return object;
}

function genericValues(groups: string[], timeZone: string): CosemObject {
  if (groups.length === 1) {
    const text = groups[0]!;
    const star = text.indexOf('*');
    if (star !== -1 || (text.includes('.') && isDecimal(text))) return quantityObject(text);
    return { value: text };
  }
  if (groups.length === 2 && TIMESTAMP.test(groups[0]!) && groups[1]!.includes('*')) {
    return timedObject(groups, timeZone);
  }
  let time: string | null | undefined;
  let rest = groups;
  if (TIMESTAMP.test(groups[0]!)) {
    time = parseDsmrTime(groups[0]!, timeZone);
    rest = groups.slice(1);
  }
  const values: Quantity[] = rest.map((g) => (g.includes('*') ? quantity(g) : { value: g }));
  return time === undefined ? { value: values } : { value: values, time };
}

/** Hex text -> ASCII when every byte is printable; else null (the value stays as sent). */
export function decodeHexText(hex: string): string | null {
  if (hex.length === 0 || hex.length % 2 !== 0) return null;
  let text = '';
  for (let i = 0; i < hex.length; i += 2) {
    const byte = parseInt(hex.slice(i, i + 2), 16);
    if (Number.isNaN(byte) || byte < 0x20 || byte > 0x7e || !/^[0-9A-Fa-f]{2}$/.test(hex.slice(i, i + 2))) return null;
    text += String.fromCharCode(byte);
  }
  return text;
}

function versionOf(objects: Record<string, CosemObject>): string | null {
  const version = objects['1-3:0.2.8']?.value ?? objects['0-0:96.1.4']?.value;
  return typeof version === 'string' ? version : null;
}

function timeOf(objects: Record<string, CosemObject>): string | null {
  const time = objects['0-0:1.0.0']?.value;
  return typeof time === 'string' ? time : null;
}
