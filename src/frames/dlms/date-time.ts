import { localToIso, type LocalTime } from '../../telegram/time.js';

/**
 * The COSEM date-time octet string (12 bytes): year (2), month, day, weekday, hour, minute, second, hundredths,
 * deviation (2, signed minutes, UTC minus local time; 0x8000 = not given), clock status. 0xFF marks a field the
 * meter leaves unspecified.
 */

export const DATE_TIME_BYTES = 12;
const DEVIATION_UNSPECIFIED = -0x8000;
/** The furthest a real zone is from UTC (UTC+14), in minutes. */
const MAX_DEVIATION = 14 * 60;

export interface DlmsDateTime {
  local: LocalTime;
  /** Offset from UTC in minutes as the clock states it; null when the meter leaves it unspecified. */
  offsetMinutes: number | null;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The date and time the bytes give, or null when they are not a complete, real date and time. */
export function readDateTime(bytes: Uint8Array): DlmsDateTime | null {
  if (bytes.length !== DATE_TIME_BYTES) return null;
  const year = (bytes[0]! << 8) | bytes[1]!;
  const [month, day, , hour, minute, rawSecond] = [bytes[2]!, bytes[3]!, bytes[4]!, bytes[5]!, bytes[6]!, bytes[7]!];
  if (year < 1970 || year > 2199 || month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]!) return null;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return null;
  if (hour > 23 || minute > 59) return null;
  const second = rawSecond === 0xff ? 0 : rawSecond;
  if (second > 59) return null;
  const deviation = new DataView(bytes.buffer, bytes.byteOffset + 9, 2).getInt16(0);
  const offsetMinutes = deviation === DEVIATION_UNSPECIFIED || Math.abs(deviation) > MAX_DEVIATION ? null : -deviation;
  return { local: { year, month, day, hour, minute, second }, offsetMinutes };
}

/** The zone's offset by local hour, as last found: a meter pushes every few seconds, and Intl is slow. */
const zoneOffsets = new Map<string, number>();
const MAX_ZONE_OFFSETS = 256;

/** ISO 8601 with the clock's offset, or `timeZone`'s when the clock gives none. */
export function dateTimeToIso(dateTime: DlmsDateTime, timeZone = 'Europe/Amsterdam'): string {
  if (dateTime.offsetMinutes !== null) return localToIso(dateTime.local, dateTime.offsetMinutes, timeZone);
  const { year, month, day, hour } = dateTime.local;
  const key = `${timeZone} ${year}-${month}-${day} ${hour}`;
  let offset = zoneOffsets.get(key);
  if (offset === undefined) {
    const iso = localToIso({ ...dateTime.local, minute: 0, second: 0 }, null, timeZone);
    offset = (iso.charCodeAt(19) === 0x2d ? -1 : 1) * (Number(iso.slice(20, 22)) * 60 + Number(iso.slice(23, 25)));
    if (zoneOffsets.size >= MAX_ZONE_OFFSETS) zoneOffsets.clear();
    zoneOffsets.set(key, offset);
  }
  return localToIso(dateTime.local, offset, timeZone);
}
