import { InvalidArgumentError } from 'commander';
import { localTimeToEpochMs } from '../telegram/time.js';

/**
 * A time given on the command line (`--from`, `--to`, `--start`): a date (`2025-01-01`: that day's midnight) or a
 * time without offset (`2025-01-01T10:00`) is a wall-clock time in the configured `timeZone`, as the page's "today"
 * is; an instant with an offset or `Z` (`2025-01-01T10:00:00+01:00`) stays that instant. The zone is known only
 * once the configuration is read, hence `at(timeZone)`.
 */
export interface TimeArgument {
  readonly text: string;
  at(timeZone: string): Date;
}

const FORM = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

export const TIME_FORMS = '2025-01-01 (midnight in timeZone), 2025-01-01T10:00 (timeZone), 2025-01-01T10:00:00+01:00 or ...Z (an instant)';

/** Pure: parses the text, or null when it is not one of the forms. */
export function parseTimeArgument(text: string): TimeArgument | null {
  const m = FORM.exec(text.trim());
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const ms = Number((m[7] ?? '.0').slice(1).padEnd(3, '0'));
  const check = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return null;
  if (m[8] !== undefined) {
    const instant = Date.parse(text.trim().replace(' ', 'T'));
    if (Number.isNaN(instant)) return null;
    return { text, at: () => new Date(instant) };
  }
  return { text, at: (timeZone) => new Date(localTimeToEpochMs({ year, month, day, hour, minute, second }, timeZone) + ms) };
}

/** For commander's option parser. */
export function timeArgumentOption(value: string): TimeArgument {
  const parsed = parseTimeArgument(value);
  if (parsed === null) throw new InvalidArgumentError(`not an ISO 8601 date or time; use ${TIME_FORMS}`);
  return parsed;
}
