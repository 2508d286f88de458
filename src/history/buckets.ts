import { zoneOffsetAt } from '../telegram/time.js';

/**
 * Calendar arithmetic in the configured zone, pure. Rows cover half-open intervals (start, end]: a reading taken at
 * 20:00:00 closes the hour 19:00-20:00, as a meter's hourly gas reading stamped 20:00 counts the hour before it.
 * Hours are local hours, so the day clocks go forward has 23 and the day they go back 25 (two rows "02:00").
 */

export const HOUR_MS = 3_600_000;

/** A local calendar date (month 1-12). */
export interface LocalDate {
  year: number;
  month: number;
  day: number;
}

/** Offsets change on quarter hours at the earliest: one tz lookup per quarter hour and zone. */
const QUARTER_MS = 900_000;
const offsetCache = new Map<string, { slot: number; minutes: number }>();

export function offsetMinutes(ms: number, timeZone: string): number {
  const slot = Math.floor(ms / QUARTER_MS);
  const cached = offsetCache.get(timeZone);
  if (cached !== undefined && cached.slot === slot) return cached.minutes;
  const minutes = zoneOffsetAt(slot * QUARTER_MS, timeZone);
  offsetCache.set(timeZone, { slot, minutes });
  return minutes;
}

export function localDateOf(ms: number, timeZone: string): LocalDate {
  const wall = new Date(ms + offsetMinutes(ms, timeZone) * 60_000);
  return { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate() };
}

/** The instant local midnight starts `year-month-day` (day may run past the month's end: Date.UTC normalises it). */
export function localMidnight(year: number, month: number, day: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  const guess = wall - zoneOffsetAt(wall, timeZone) * 60_000;
  return wall - zoneOffsetAt(guess, timeZone) * 60_000;
}

/** Start of the local hour that holds the instant `ms`. */
export function hourStart(ms: number, timeZone: string): number {
  const offset = offsetMinutes(ms, timeZone) * 60_000;
  return Math.floor((ms + offset) / HOUR_MS) * HOUR_MS - offset;
}

/** The hour a reading at `ms` closes: (start, start + 1 h]. */
export function hourOfReading(ms: number, timeZone: string): number {
  return hourStart(ms - 1, timeZone);
}

export function dayStart(ms: number, timeZone: string): number {
  const d = localDateOf(ms, timeZone);
  return localMidnight(d.year, d.month, d.day, timeZone);
}

export function nextDayStart(dayStartMs: number, timeZone: string): number {
  // Noon of the day is safely inside it whatever the transitions.
  const d = localDateOf(dayStartMs + 12 * HOUR_MS, timeZone);
  return localMidnight(d.year, d.month, d.day + 1, timeZone);
}

export function monthStart(ms: number, timeZone: string): number {
  const d = localDateOf(ms, timeZone);
  return localMidnight(d.year, d.month, 1, timeZone);
}

export function nextMonthStart(monthStartMs: number, timeZone: string): number {
  const d = localDateOf(monthStartMs + 12 * HOUR_MS, timeZone);
  return localMidnight(d.year, d.month + 1, 1, timeZone);
}

export function yearStart(ms: number, timeZone: string): number {
  return localMidnight(localDateOf(ms, timeZone).year, 1, 1, timeZone);
}

export function nextYearStart(yearStartMs: number, timeZone: string): number {
  return localMidnight(localDateOf(yearStartMs + 12 * HOUR_MS, timeZone).year + 1, 1, 1, timeZone);
}

/** `2025-03-30T00:00:00+01:00`: the instant as the zone's wall clock shows it. */
export function isoInZone(ms: number, timeZone: string): string {
  const minutes = offsetMinutes(ms, timeZone);
  const wall = new Date(ms + minutes * 60_000).toISOString().slice(0, 19);
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${wall}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** `YYYY-MM-DD` (local midnight), or an ISO 8601 time with or without offset (without: local in the zone). */
export function parseLocalTime(text: string, timeZone: string): number | null {
  const date = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(text);
  if (date !== null) {
    const [year, month, day] = [Number(date[1]), Number(date[2]), date[3] === undefined ? 1 : Number(date[3])];
    if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null;
    return localMidnight(year, month, day, timeZone);
  }
  const local = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (local !== null) {
    const [y, mo, d, h, mi, s] = local.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
    const wall = Date.UTC(y, mo - 1, d, h, mi, s);
    const guess = wall - offsetMinutes(wall, timeZone) * 60_000;
    return wall - offsetMinutes(guess, timeZone) * 60_000;
  }
  const ms = Date.parse(text);
  return /^\d{4}-\d{2}-\d{2}T/.test(text) && Number.isFinite(ms) ? ms : null;
}
