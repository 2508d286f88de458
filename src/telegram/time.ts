/**
 * DSMR timestamps -> ISO 8601 with the meter's offset.
 * DSMR 4/5 send `YYMMDDhhmmssX` where X is S (summer, +02:00) or W (winter, +01:00); some Landis+Gyr E350
 * firmware writes it in lower case, which means the same. DSMR 2.2/3 send
 * `YYMMDDhhmmss` in local time without a flag; the offset then comes from the tz database.
 */

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two-digit years: 70-99 are the 1900s (meters' "no value" placeholders use 1970), the rest 2000s. */
function fullYear(twoDigits: number): number {
  return twoDigits >= 70 ? 1900 + twoDigits : 2000 + twoDigits;
}

/** Wall-clock fields of a local time. */
export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function digitsAt(text: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) {
    const c = text.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

function readLocal(text: string): LocalTime | null {
  const yy = digitsAt(text, 0, 2);
  const month = digitsAt(text, 2, 2);
  const day = digitsAt(text, 4, 2);
  const hour = digitsAt(text, 6, 2);
  const minute = digitsAt(text, 8, 2);
  const second = digitsAt(text, 10, 2);
  if (yy < 0 || month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]!) return null;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return null;
  const year = fullYear(yy);
  if (month === 2 && day === 29 && !isLeap(year)) return null;
  return { year, month, day, hour, minute, second };
}

export const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

function isoLocal(t: LocalTime): string {
  return `${t.year}-${pad2(t.month)}-${pad2(t.day)}T${pad2(t.hour)}:${pad2(t.minute)}:${pad2(t.second)}`;
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/**
 * Parses a DSMR timestamp. With an S/W flag the offset is the flag's; without one it is `timeZone`'s at that
 * local time (an hour that occurs twice when clocks go back resolves to the first, summer, occurrence).
 * Returns null for anything that is not a real date (placeholders such as `632525252525W`).
 */
export function parseDsmrTime(text: string, timeZone = 'Europe/Amsterdam'): string | null {
  if (text.length !== 12 && text.length !== 13) return null;
  const local = readLocal(text);
  if (local === null) return null;
  if (text.length === 13) {
    const flag = text.charCodeAt(12) & ~0x20; // s/w as S/W
    if (flag === 0x53 /* S */) return `${isoLocal(local)}+02:00`;
    if (flag === 0x57 /* W */) return `${isoLocal(local)}+01:00`;
    return null;
  }
  return `${isoLocal(local)}${formatOffset(zoneOffsetForLocal(local, timeZone))}`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * A wall-clock time as ISO 8601 with an offset: the one given (a DLMS clock's deviation), else `timeZone`'s at
 * that local time, as for a DSMR 2.2/3 timestamp.
 */
export function localToIso(local: LocalTime, offsetMinutes: number | null, timeZone = 'Europe/Amsterdam'): string {
  return `${isoLocal(local)}${formatOffset(offsetMinutes ?? zoneOffsetForLocal(local, timeZone))}`;
}

/** Offset of `timeZone` from UTC, in minutes, at the instant `utcMs`. */
export function zoneOffsetAt(utcMs: number, timeZone: string): number {
  const parts = formatterFor(timeZone).formatToParts(new Date(utcMs));
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(utcMs / 1000) * 1000) / 60_000);
}

/** The offset that makes `local` a real instant in `timeZone`; earliest (summer) reading for repeated hours. */
function zoneOffsetForLocal(local: LocalTime, timeZone: string): number {
  const wallMs = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
  // Candidate offsets are those in force a day either side; try the larger (summer) one first.
  const candidates = [zoneOffsetAt(wallMs - 86_400_000, timeZone), zoneOffsetAt(wallMs + 86_400_000, timeZone)];
  candidates.sort((a, b) => b - a);
  for (const offset of candidates) {
    if (zoneOffsetAt(wallMs - offset * 60_000, timeZone) === offset) return offset;
  }
  // A local time skipped when clocks go forward: the meter's clock means the instant after the jump.
  return candidates[candidates.length - 1]!;
}

/** The instant a wall-clock time in `timeZone` stands for (the first of a repeated hour, after a skipped one). */
export function localTimeToEpochMs(local: LocalTime, timeZone: string): number {
  const wallMs = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
  return wallMs - zoneOffsetForLocal(local, timeZone) * 60_000;
}

/** Days before each month in a non-leap year. */
const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/**
 * The form parseDsmrTime writes, `YYYY-MM-DDThh:mm:ss+hh:mm`, -> epoch ms by arithmetic (Date.parse is a
 * measurable part of a backlog drain); undefined for anything else or out of range, for Date.parse to decide.
 */
export function isoToEpochMs(iso: string): number | undefined {
  if (iso.length !== 25) return undefined;
  const sign = iso.charCodeAt(19);
  if (iso.charCodeAt(4) !== 0x2d || iso.charCodeAt(7) !== 0x2d || iso.charCodeAt(10) !== 0x54) return undefined;
  if (iso.charCodeAt(13) !== 0x3a || iso.charCodeAt(16) !== 0x3a || iso.charCodeAt(22) !== 0x3a) return undefined;
  if (sign !== 0x2b && sign !== 0x2d) return undefined;
  const year = digitsAt(iso, 0, 4);
  const month = digitsAt(iso, 5, 2);
  const day = digitsAt(iso, 8, 2);
  const hour = digitsAt(iso, 11, 2);
  const minute = digitsAt(iso, 14, 2);
  const second = digitsAt(iso, 17, 2);
  const offsetHours = digitsAt(iso, 20, 2);
  const offsetMinutes = digitsAt(iso, 23, 2);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59) return undefined;
  if (second < 0 || second > 59 || offsetHours < 0 || offsetHours > 23 || offsetMinutes < 0 || offsetMinutes > 59) return undefined;
  const leap = isLeap(year);
  if (day > (month === 2 && !leap ? 28 : DAYS_IN_MONTH[month - 1]!)) return undefined;
  // Days from 1970-01-01 to the start of the year: 365 a year plus the leap days in between.
  const y = year - 1;
  const days =
    365 * (year - 1970) + (Math.floor(y / 4) - 492) - (Math.floor(y / 100) - 19) + (Math.floor(y / 400) - 4) +
    DAYS_BEFORE_MONTH[month - 1]! + (month > 2 && leap ? 1 : 0) + day - 1;
  const offset = (offsetHours * 60 + offsetMinutes) * (sign === 0x2b ? 1 : -1);
  return ((days * 24 + hour) * 60 + minute - offset) * 60_000 + second * 1000;
}
