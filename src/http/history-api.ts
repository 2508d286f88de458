import type { TariffsConfig, UiConfig } from '../config/history-schema.js';
import { dayStart, isoInZone, localDateOf, localMidnight, nextDayStart, parseLocalTime, yearStart } from '../history/buckets.js';
import { hasTariffs } from '../history/costs.js';
import { RESOLUTIONS, type HistorySource, type Resolution } from '../history/query.js';
import { historyAnswer, type HistoryAnswer } from '../history/view.js';

/** What the status server needs to answer /api/history and /api/ui. */
export interface HistoryApi {
  source: HistorySource;
  tariffs?: TariffsConfig;
  ui?: UiConfig;
}

/** Settings the page needs before its first request: zone, locale, labels, currency, and today's local date. */
export interface UiAnswer {
  timeZone: string;
  locale: string;
  tariffNames: { t1: string; t2: string };
  currency: string | null;
  /** `YYYY-MM-DD` in timeZone, and when that day starts and ends (23 or 25 hours apart when clocks change). */
  today: string;
  todayStart: string;
  todayEnd: string;
  now: string;
}

const DAY_MS = 86_400_000;
/** An answer stays small enough for a Pi: at most about a year of hours. */
const MAX_SPAN_MS: Record<Resolution, number> = { hour: 367 * DAY_MS, day: 20 * 366 * DAY_MS, month: 100 * 366 * DAY_MS, year: 200 * 366 * DAY_MS };

export class HistoryQueryError extends Error {}

export function uiAnswer(api: HistoryApi, nowMs: number): UiAnswer {
  const tz = api.source.timeZone;
  const d = localDateOf(nowMs, tz);
  return {
    timeZone: tz,
    locale: api.ui?.locale ?? 'nl-NL',
    tariffNames: { t1: api.ui?.tariffNames.t1 ?? 'low', t2: api.ui?.tariffNames.t2 ?? 'normal' },
    currency: hasTariffs(api.tariffs) ? api.tariffs.currency : null,
    today: `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`,
    todayStart: isoInZone(dayStart(nowMs, tz), tz),
    todayEnd: isoInZone(nextDayStart(dayStart(nowMs, tz), tz), tz),
    now: new Date(nowMs).toISOString(),
  };
}

/** The default range of each resolution: today's hours, the last 31 days, this year and the last, all years. */
function defaultFrom(resolution: Resolution, nowMs: number, tz: string): number {
  const today = dayStart(nowMs, tz);
  switch (resolution) {
    case 'hour':
      return today;
    case 'day':
      return dayStart(today - 30 * DAY_MS + 12 * 3600_000, tz);
    case 'month':
      return yearStart(yearStart(nowMs, tz) - DAY_MS, tz);
    case 'year':
      return localMidnight(2000, 1, 1, tz);
  }
}

/**
 * `/api/history?resolution=hour|day|month|year&from=&to=`: `from` and `to` are local dates (`2025-01-15`,
 * `2025-01`) or ISO times; rows that start in [from, to). Throws HistoryQueryError for a bad query (HTTP 400).
 */
export async function historyQuery(api: HistoryApi, params: URLSearchParams, nowMs: number): Promise<HistoryAnswer> {
  const tz = api.source.timeZone;
  const resolution = (params.get('resolution') ?? 'day') as Resolution;
  if (!RESOLUTIONS.includes(resolution)) throw new HistoryQueryError(`resolution=${resolution}: expected one of ${RESOLUTIONS.join(', ')}`);
  const time = (name: string, fallback: number): number => {
    const text = params.get(name);
    if (text === null || text === '') return fallback;
    const ms = parseLocalTime(text, tz);
    if (ms === null) throw new HistoryQueryError(`${name}=${text}: expected a date YYYY-MM-DD, a month YYYY-MM or an ISO 8601 time`);
    return ms;
  };
  const from = time('from', defaultFrom(resolution, nowMs, tz));
  // `from` alone: up to today, or as far as one answer may span.
  const to = time('to', Math.min(nextDayStart(dayStart(nowMs, tz), tz), from + MAX_SPAN_MS[resolution]));
  if (to <= from) throw new HistoryQueryError('to must be after from');
  if (to - from > MAX_SPAN_MS[resolution]) throw new HistoryQueryError(`from-to spans more than ${Math.round(MAX_SPAN_MS[resolution] / DAY_MS)} days at resolution ${resolution}`);
  return historyAnswer(api.source, resolution, from, to, api.tariffs);
}
