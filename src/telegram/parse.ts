import { LineMemo } from './line-memo.js';
import { resolveReferenceAt, type ObjectKind, type ResolvedReference } from './obis.js';
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

/** References by line number, as the last telegram had them (see the layout guess in parseTelegram). */
const layout: Array<ResolvedReference | undefined> = [];
const MAX_LAYOUT_LINES = 256;

const memo = new LineMemo(MAX_LAYOUT_LINES);

/** Thrown inside line parsing; becomes a LineError, never escapes parseTelegram. */
class LineSyntaxError extends Error {}

/**
 * Text of one framed telegram -> Telegram. Pure and total: malformed lines are reported in `errors` with their
 * line number, unknown references are kept with their raw line, and nothing throws for bad content.
 * `crc` is what the framer established ('ok' when the CRC matched, 'none' when the meter sends none).
 */
export function parseTelegram(raw: string, options: ParseOptions & { crc?: CrcStatus } = {}): Telegram {
  const objects: Record<string, CosemObject> = {};
  const { header, errors } = walkTelegram(raw, options, (reference, object) => {
    objects[reference] = object;
  });
  const telegram: Telegram = {
    header,
    version: versionOf(objects),
    time: timeOf(objects),
    crc: options.crc ?? crcStatusOf(raw),
    objects,
  };
  if (errors !== undefined) telegram.errors = errors;
  return telegram;
}

/**
 * Receives a telegram's objects in line order. A reference sent twice comes twice; parseTelegram keeps the last
 * object in the first place. An object may still be completed after it was given (the DSMR 2.2/3 gas value).
 */
export type ObjectVisitor = (reference: string, object: CosemObject) => void;

export interface TelegramWalk {
  header: string;
  /** Malformed lines; undefined when there are none. */
  errors: LineError[] | undefined;
}

/**
 * parseTelegram without the record of objects: each object goes to `visit`. For a backlog drain, which maps
 * objects to points at once: a record of some 40 keys per telegram was a third of the parse.
 */
export function walkTelegram(raw: string, options: ParseOptions, visit: ObjectVisitor): TelegramWalk {
  let lineEnd = raw.indexOf('\n');
  if (lineEnd === -1) lineEnd = raw.length;
  const header = raw.slice(raw.charCodeAt(0) === 0x2f /* / */ ? 1 : 0, trimmedEnd(raw, 0, lineEnd));
  const timeZone = options.timeZone ?? (header.startsWith('FLU') ? 'Europe/Brussels' : 'Europe/Amsterdam');
  let errors: LineError[] | undefined;
  /** DSMR 2.2/3 gas waits for its value on the next line. */
  let awaitingValue: CosemObject | null = null;
  let lineNumber = 1;
  memo.begin(raw, timeZone);

  // Walks the text by index: no array of lines, a slice only for what is kept.
  for (let pos = lineEnd + 1; pos < raw.length; pos = lineEnd + 1) {
    lineNumber++;
    lineEnd = raw.indexOf('\n', pos);
    if (lineEnd === -1) lineEnd = raw.length;
    const end = trimmedEnd(raw, pos, lineEnd);
    if (end === pos) {
      memo.remember(lineNumber, pos, end, '', undefined);
      continue;
    }
    const first = raw.charCodeAt(pos);
    if (first === 0x21 /* ! */) {
      memo.remember(lineNumber, pos, end, '', undefined);
      break;
    }
    try {
      if (first === 0x28 /* ( */ && awaitingValue !== null) {
        memo.remember(lineNumber, pos, end, '', undefined);
        const groups = splitGroups(raw, pos, end);
        awaitingValue.value = toNumber(groups[0] ?? '');
        awaitingValue = null;
        continue;
      }
      if (awaitingValue === null && memo.reuse(pos, end, lineNumber)) {
        visit(memo.key, memo.object!);
        continue;
      }
      const open = raw.indexOf('(', pos);
      if (open <= pos || open >= end) throw new LineSyntaxError('expected OBIS-REFERENCE(value)');
      // Meters repeat one layout every telegram: the reference on this line number last time is the first guess.
      let resolved: ResolvedReference | null | undefined = layout[lineNumber];
      if (resolved === undefined || resolved.key.length !== open - pos || !raw.startsWith(resolved.key, pos)) {
        resolved = resolveReferenceAt(raw, pos, open);
        if (resolved !== null && lineNumber < MAX_LAYOUT_LINES) layout[lineNumber] = resolved;
      }
      if (resolved === null) throw new LineSyntaxError(`"${raw.slice(pos, open)}" is not an OBIS reference`);
      const { key: reference, definition } = resolved;
      const object =
        (definition?.kind === 'number' ? numberObjectAt(raw, open, end) : undefined) ??
        (definition === undefined
          ? genericObject(splitGroups(raw, open, end), raw.slice(pos, end), timeZone)
          : shapeObject(definition.kind, splitGroups(raw, open, end), timeZone));
      visit(reference, object);
      awaitingValue = definition?.kind === 'legacy-gas' && object.value === null ? object : null;
      // A DSMR 2.2/3 gas object is completed by the line after it: never shared.
      memo.remember(lineNumber, pos, end, reference, definition?.kind === 'legacy-gas' ? undefined : object);
    } catch (error) {
      memo.remember(lineNumber, pos, end, '', undefined);
      if (!(error instanceof LineSyntaxError)) {
        memo.clear();
        throw error;
      }
      (errors ??= []).push({ line: lineNumber, text: raw.slice(pos, end), reason: error.message });
      awaitingValue = null;
    }
  }

  memo.finish(lineNumber);
  return { header, errors };
}

/** Without the framer's word: 'ok' when hex digits follow the final '!' (text from the queue was checked on arrival). */
function crcStatusOf(raw: string): CrcStatus {
  const bang = raw.lastIndexOf('!');
  if (bang === -1) return 'none';
  const c = raw.charCodeAt(bang + 1);
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) ? 'ok' : 'none';
}

/** End of the line [start, end) without its CR and trailing blanks. */
function trimmedEnd(text: string, start: number, end: number): number {
  let e = end;
  for (;;) {
    if (e <= start) return start;
    const c = text.charCodeAt(e - 1);
    if (c !== 0x0d && c !== 0x20 && c !== 0x09) return e;
    e--;
  }
}

/** `(a)(b)(c)` in text[open, end) -> ['a', 'b', 'c']. */
function splitGroups(text: string, open: number, end: number): string[] {
  const groups: string[] = [];
  let pos = open;
  while (pos < end) {
    if (text.charCodeAt(pos) !== 0x28) throw new LineSyntaxError(`expected "(" at column ${pos - open + 1} of the values`);
    const close = text.indexOf(')', pos + 1);
    if (close === -1 || close >= end) throw new LineSyntaxError('missing ")"');
    groups.push(text.slice(pos + 1, close));
    pos = close + 1;
  }
  return groups;
}

const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

function isDecimal(text: string): boolean {
  return decimalValue(text) !== undefined;
}

/**
 * A plain decimal (`-?digits[.digits]`) -> number, else undefined. With at most 15 significant digits,
 * mantissa / 10^k is exactly what Number(text) gives (one correctly rounded division), only faster.
 */
function decimalValue(text: string): number | undefined {
  return decimalAt(text, 0, text.length);
}

/**
 * text[start, end) as a plain decimal (`-?digits[.digits]`) -> number, else undefined. With at most 15
 * significant digits, mantissa / 10^k is exactly what Number(text) gives (one correctly rounded division).
 */
function decimalAt(text: string, start: number, end: number): number | undefined {
  const negative = text.charCodeAt(start) === 0x2d;
  let mantissa = 0;
  let significant = 0;
  let sawDigit = false;
  let scale = -1;
  for (let i = negative ? start + 1 : start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      sawDigit = true;
      mantissa = mantissa * 10 + (c - 0x30);
      if (mantissa > 0) significant++;
      if (scale >= 0) scale++;
    } else if (c === 0x2e && scale < 0) {
      scale = 0;
    } else {
      return undefined;
    }
  }
  if (!sawDigit) return undefined;
  if (scale < 0) scale = 0;
  if (significant > 15 || scale >= POWERS_OF_TEN.length) return Number(text.slice(start, end));
  const value = mantissa / POWERS_OF_TEN[scale]!;
  return negative ? -value : value;
}

/**
 * Fast path for the most common line, `REF(123.456*kWh)`, straight from the telegram text; undefined when the
 * line is anything else, so the general path parses it and words the error.
 */
function numberObjectAt(text: string, open: number, end: number): CosemObject | undefined {
  const close = end - 1;
  if (text.charCodeAt(close) !== 0x29 /* ) */ || text.indexOf(')', open + 1) !== close) return undefined;
  let star = text.indexOf('*', open + 1);
  if (star > close) star = -1;
  const value = decimalAt(text, open + 1, star === -1 ? close : star);
  if (value === undefined) return undefined;
  return star === -1 ? { value } : { value, unit: text.slice(star + 1, close) };
}

function toNumber(text: string): number {
  const value = decimalValue(text);
  if (value === undefined) throw new LineSyntaxError(`"${text}" is not a number`);
  return value;
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

const TIMESTAMP = /^\d{12}[SWsw]?$/;

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

const HEX_DIGITS = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_DIGITS['0123456789ABCDEF'.charCodeAt(i)] = i;
  HEX_DIGITS['0123456789abcdef'.charCodeAt(i)] = i;
}

function hexDigit(code: number): number {
  return code < 128 ? HEX_DIGITS[code]! : -1;
}

/** Hex text -> ASCII when every byte is printable; else null (the value stays as sent). */
export function decodeHexText(hex: string): string | null {
  if (hex.length === 0 || hex.length % 2 !== 0) return null;
  let text = '';
  for (let i = 0; i < hex.length; i += 2) {
    const high = hexDigit(hex.charCodeAt(i));
    const low = hexDigit(hex.charCodeAt(i + 1));
    if (high < 0 || low < 0) return null;
    const byte = high * 16 + low;
    if (byte < 0x20 || byte > 0x7e) return null;
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
