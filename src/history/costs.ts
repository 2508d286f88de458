import type { TariffsConfig } from '../config/history-schema.js';
import { dayStart, localDateOf, nextDayStart } from './buckets.js';
import type { HistoryRow } from './row.js';

/** What a row cost, in the configured currency; a part is null when no price applies to it (none configured yet). */
export interface Costs {
  import: number | null;
  /** Compensation for what was exported (subtracted in `total`). */
  export: number | null;
  gas: number | null;
  fixed: number | null;
  /** import + gas + fixed - export, of the parts that have a price. */
  total: number;
}

type Entry = { from: string; price?: number | undefined; t1?: number | undefined; t2?: number | undefined };

/** The entry in force on a local date (`YYYY-MM-DD` compares as text). */
function entryOn(list: readonly Entry[], date: string): Entry | undefined {
  let found: Entry | undefined;
  for (const entry of list) if (entry.from <= date && (found === undefined || entry.from > found.from)) found = entry;
  return found;
}

function localDate(ms: number, timeZone: string): string {
  const d = localDateOf(ms, timeZone);
  return `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}

/** Length of each local day, remembered: a month of hours asks 720 times for some 30 days. */
const dayLengths = new Map<string, number>();
function dayLength(date: string, ms: number, timeZone: string): number {
  const key = `${timeZone} ${date}`;
  let length = dayLengths.get(key);
  if (length === undefined) {
    const start = dayStart(ms, timeZone);
    length = nextDayStart(start, timeZone) - start;
    if (dayLengths.size > 4096) dayLengths.clear();
    dayLengths.set(key, length);
  }
  return length;
}

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;

export function hasTariffs(tariffs: TariffsConfig | undefined): tariffs is TariffsConfig {
  return tariffs !== undefined && (tariffs.import.length > 0 || tariffs.export.length > 0 || tariffs.gas.length > 0 || tariffs.fixedPerDay.length > 0);
}

/**
 * Costs of an hour or a day at the prices of its local date (prices change at local midnight, so a day has one
 * set). Fixed costs per day go to an hour by its share of the day (1/23 on the day clocks go forward). Months and
 * years are sums of their days. Pure.
 */
export function costsOf(row: HistoryRow, gasM3: number, tariffs: TariffsConfig, timeZone: string): Costs {
  const date = localDate(row.start, timeZone);
  const imp = entryOn(tariffs.import, date);
  const exp = entryOn(tariffs.export, date);
  const gas = entryOn(tariffs.gas, date);
  const fixed = entryOn(tariffs.fixedPerDay, date);
  const perTariff = (entry: Entry | undefined, t1Wh: number, t2Wh: number): number | null =>
    entry === undefined ? null : (t1Wh / 1000) * (entry.t1 ?? entry.price ?? 0) + (t2Wh / 1000) * (entry.t2 ?? entry.price ?? 0);
  const share = Math.min(1, (row.end - row.start) / dayLength(date, row.start, timeZone));
  const costs = {
    import: perTariff(imp, row.importT1Wh, row.importT2Wh),
    export: perTariff(exp, row.exportT1Wh, row.exportT2Wh),
    gas: gas === undefined ? null : gasM3 * (gas.price ?? 0),
    fixed: fixed === undefined ? null : (fixed.price ?? 0) * share,
  };
  const total = (costs.import ?? 0) + (costs.gas ?? 0) + (costs.fixed ?? 0) - (costs.export ?? 0);
  const r = (x: number | null): number | null => (x === null ? null : round4(x));
  return { import: r(costs.import), export: r(costs.export), gas: r(costs.gas), fixed: r(costs.fixed), total: round4(total) };
}

export function addCosts(a: Costs, b: Costs): Costs {
  const add = (x: number | null, y: number | null): number | null => (x === null ? y : y === null ? x : round4(x + y));
  return { import: add(a.import, b.import), export: add(a.export, b.export), gas: add(a.gas, b.gas), fixed: add(a.fixed, b.fixed), total: round4(a.total + b.total) };
}
