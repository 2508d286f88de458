import { pad2, zoneOffsetAt, type LocalTime } from '../telegram/time.js';

/** Dutch meters keep Europe/Amsterdam local time and flag it S (summer, +02:00) or W (winter, +01:00). */
const ZONE = 'Europe/Amsterdam';

/** Wall-clock fields in Europe/Amsterdam, and what the simulator derives from them. */
export interface LocalClock extends LocalTime {
  /** 0 = Sunday. */
  weekday: number;
  /** Hours since local midnight, fractional. */
  hourOfDay: number;
  summer: boolean;
}

let cachedHour = Number.NaN;
let cachedOffset = 0;

/** Offset in minutes; it only changes on whole UTC hours, so one tz lookup per hour is enough. */
function offsetAt(utcMs: number): number {
  const hour = Math.floor(utcMs / 3_600_000);
  if (hour !== cachedHour) {
    cachedHour = hour;
    cachedOffset = zoneOffsetAt(hour * 3_600_000, ZONE);
  }
  return cachedOffset;
}

export function localClock(utcMs: number): LocalClock {
  const offset = offsetAt(utcMs);
  const wall = new Date(utcMs + offset * 60_000);
  const hour = wall.getUTCHours();
  const minute = wall.getUTCMinutes();
  const second = wall.getUTCSeconds();
  return {
    year: wall.getUTCFullYear(),
    month: wall.getUTCMonth() + 1,
    day: wall.getUTCDate(),
    hour,
    minute,
    second,
    weekday: wall.getUTCDay(),
    hourOfDay: hour + minute / 60 + second / 3600,
    summer: offset === 120,
  };
}

/** `YYMMDDhhmmss` + `S`/`W` (DSMR 4/5), or without the flag (DSMR 2.2/3), in Europe/Amsterdam time. */
export function formatMeterTime(utcMs: number, withFlag: boolean): string {
  const t = localClock(utcMs);
  const text = `${pad2(t.year % 100)}${pad2(t.month)}${pad2(t.day)}${pad2(t.hour)}${pad2(t.minute)}${pad2(t.second)}`;
  return withFlag ? `${text}${t.summer ? 'S' : 'W'}` : text;
}
