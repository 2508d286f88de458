/**
 * DSMR timestamps -> ISO 8601 with the meter's offset.
 * DSMR 4/5 send `YYMMDDhhmmssX` where X is S (summer, +02:00) or W (winter, +01:00). DSMR 2.2/3 send
 * `YYMMDDhhmmss` in local time without a flag; the offset then comes from the tz database.
 */

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two-digit years: 70-99 are the 1900s (meters' "no value" placeholders use 1970), the rest 2000s. */
function fullYear(twoDigits: number): number {
  return twoDigits >= 70 ? 1900 + twoDigits : 2000 + twoDigits;
}

interface LocalTime {
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
  return { year: fullYear(yy), month, day, hour, minute, second };
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

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
    const flag = text.charCodeAt(12);
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
