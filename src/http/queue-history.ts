import type { QueueRecord, TelegramLog } from '../queue/types.js';
import { frameTelegram } from '../frames/stored.js';
import { periodTotals, powerPoint, type HistoryProvider, type PowerPoint } from './history.js';
import { readingOf, type MeterReading } from './reading.js';

export interface QueueHistoryOptions {
  /** For DSMR 2.2/3 meter times. */
  timeZone?: string;
  /** Upper bound of points one powerSeries call returns (an hour at 1 telegram/s is 3,600). */
  maxPoints?: number;
}

const CHUNK = 1000;

/**
 * The page's history read from the queue: the raw telegrams are parsed again, as everywhere. A period's baseline is
 * found by binary search on receive time (a few point reads, not a scan of a month of records), assuming receive
 * times grow with seq, which holds unless the clock jumps; then the answer is off by the jump, never wrong in kind.
 */
export function queueHistory(log: Pick<TelegramLog, 'readAfter' | 'status'>, options: QueueHistoryOptions = {}): HistoryProvider {
  const timeZone = options.timeZone ?? 'Europe/Amsterdam';
  const maxPoints = options.maxPoints ?? 20_000;
  // A period's baseline never changes once found; remember the last few.
  const baselines = new Map<number, MeterReading>();

  function reading(record: QueueRecord): MeterReading | undefined {
    try {
      const telegram = frameTelegram(record, { timeZone });
      return telegram === null ? undefined : readingOf(telegram, Date.parse(record.receivedAt));
    } catch {
      return undefined;
    }
  }

  async function recordAt(seq: number): Promise<QueueRecord | undefined> {
    return (await log.readAfter(seq - 1, 1))[0];
  }

  /** Smallest seq whose receive time is at or after `timeMs`; lastSeq + 1 when there is none. */
  async function firstSeqAtOrAfter(timeMs: number, firstSeq: number, lastSeq: number): Promise<number> {
    let lo = firstSeq;
    let hi = lastSeq + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const record = await recordAt(mid);
      if (record === undefined) hi = mid;
      else if (Date.parse(record.receivedAt) >= timeMs) hi = mid;
      else lo = record.seq + 1;
    }
    return lo;
  }

  async function baseline(startMs: number, firstSeq: number, lastSeq: number): Promise<MeterReading | undefined> {
    const cached = baselines.get(startMs);
    if (cached !== undefined) return cached;
    const first = await firstSeqAtOrAfter(startMs, firstSeq, lastSeq);
    // The last telegram before the start; failing that (nothing older is kept) the first one after it.
    for (const seq of first > firstSeq ? [first - 1, first] : [first]) {
      const record = seq <= lastSeq ? await recordAt(seq) : undefined;
      const found = record === undefined ? undefined : reading(record);
      if (found === undefined) continue;
      // Only a baseline from before the start is final; the first telegram after it is a stand-in.
      if (baselines.size > 8) baselines.clear();
      if (seq < first) baselines.set(startMs, found);
      return found;
    }
    return undefined;
  }

  return {
    async powerSeries(sinceMs: number): Promise<PowerPoint[]> {
      const { firstSeq, lastSeq } = await log.status();
      if (firstSeq === null || lastSeq === null) return [];
      let after = (await firstSeqAtOrAfter(sinceMs, firstSeq, lastSeq)) - 1;
      const points: PowerPoint[] = [];
      while (points.length < maxPoints) {
        const records = await log.readAfter(after, Math.min(CHUNK, maxPoints - points.length));
        for (const record of records) {
          const r = reading(record);
          if (r !== undefined) points.push(powerPoint(r));
        }
        const last = records[records.length - 1];
        if (last === undefined || records.length < CHUNK) break;
        after = last.seq;
      }
      return points;
    },

    async energyTotals(dayStartMs: number, monthStartMs: number) {
      const { firstSeq, lastSeq } = await log.status();
      if (firstSeq === null || lastSeq === null) return { day: periodTotals(undefined, undefined), month: periodTotals(undefined, undefined) };
      const latestRecord = await recordAt(lastSeq);
      const latest = latestRecord === undefined ? undefined : reading(latestRecord);
      return {
        day: periodTotals(await baseline(dayStartMs, firstSeq, lastSeq), latest),
        month: periodTotals(await baseline(monthStartMs, firstSeq, lastSeq), latest),
      };
    },
  };
}
