import { dayStart, monthStart, nextDayStart, nextMonthStart, nextYearStart, yearStart } from './buckets.js';
import { cloneRow, emptyRow, mergeInto, rollUp, type HistoryRow } from './row.js';
import type { HistoryStore } from './store.js';

export type Resolution = 'hour' | 'day' | 'month' | 'year';
export const RESOLUTIONS: readonly Resolution[] = ['hour', 'day', 'month', 'year'];

/** What the page, the API and `p1logger history` read: rows with from <= start < to, oldest first. */
export interface HistorySource {
  readonly timeZone: string;
  rows(resolution: Resolution, from: number, to: number): Promise<HistoryRow[]>;
}

/**
 * Rows from the store plus the hours not stored yet (`unstored`: the open hours and final ones on their way to
 * disk). Days add their unstored hours to the stored day; months and years are merged days.
 */
export async function queryRows(store: HistoryStore, unstored: readonly HistoryRow[], resolution: Resolution, from: number, to: number): Promise<HistoryRow[]> {
  const tz = store.timeZone;
  if (resolution === 'hour') {
    const byStart = new Map((await store.rows('hour', from, to)).map((row) => [row.start, row]));
    for (const row of unstored) if (row.start >= from && row.start < to) byStart.set(row.start, cloneRow(row));
    return [...byStart.values()].sort((a, b) => a.start - b.start);
  }
  if (resolution === 'day') {
    const byStart = new Map((await store.rows('day', from, to)).map((row) => [row.start, row]));
    for (const hour of unstored) {
      const start = dayStart(hour.start, tz);
      if (start < from || start >= to) continue;
      let day = byStart.get(start);
      if (day === undefined) {
        day = emptyRow(start, nextDayStart(start, tz));
        byStart.set(start, day);
      }
      mergeInto(day, hour);
      day.start = start;
    }
    return [...byStart.values()].sort((a, b) => a.start - b.start);
  }
  const period = resolution === 'month' ? { start: monthStart, next: nextMonthStart } : { start: yearStart, next: nextYearStart };
  // Whole periods: those that start in [from, to).
  const aligned = (t: number): number => (period.start(t, tz) === t ? t : period.next(period.start(t, tz), tz));
  const days = await queryRows(store, unstored, 'day', aligned(from), aligned(to));
  return rollUp(days, (start) => {
    const s = period.start(start, tz);
    return { start: s, end: period.next(s, tz) };
  });
}
