/** One entry of the power failure event log (1-0:99.97.0). */
export interface FailureEvent {
  /** End of the failure, ISO 8601 with offset; null for a meter's placeholder timestamp. */
  time: string | null;
  duration: number;
  unit: string;
}

/** One month of the Belgian peak demand history (0-0:98.1.0). */
export interface PeakHistoryEntry {
  /** Start of the month the peak belongs to. */
  time: string | null;
  /** When the peak (a 15-minute average) happened; null for a meter's placeholder. */
  peakTime: string | null;
  value: number;
  unit: string;
}

/** A value with an optional unit, as in a multi-value register (for example E.ON's 0-0:98.1.0). */
export interface Quantity {
  value: number | string;
  unit?: string;
}

export type ObjectValue = number | string | null | FailureEvent[] | PeakHistoryEntry[] | Quantity[];

/** One COSEM object of a telegram, keyed in `Telegram.objects` by its OBIS reference exactly as sent. */
export interface CosemObject {
  value: ObjectValue;
  unit?: string;
  /** The object's own capture time (M-Bus readings, peaks, DSMR 2.2/3 gas). */
  time?: string | null;
  /** Hex-encoded text decoded to printable ASCII (messages, equipment identifiers). */
  text?: string;
  /** Present when the reference is not in the OBIS table: the line as sent, so nothing is lost. */
  raw?: string;
}

/** A line of a telegram that could not be parsed; the rest of the telegram still is. */
export interface LineError {
  /** 1-based line number within the telegram (the header is line 1). */
  line: number;
  text: string;
  reason: string;
}

export type CrcStatus = 'ok' | 'none';

/** A parsed telegram: the NDJSON contract of `p1logger parse` (see README, "Parsed telegram"). */
export interface Telegram {
  /** Identification line without the leading '/'. */
  header: string;
  /** DSMR/e-MUCS version as the meter announces it (1-3:0.2.8, else 0-0:96.1.4); null for DSMR 2.2/3. */
  version: string | null;
  /** Meter time (0-0:1.0.0) as ISO 8601 with offset; null when the meter sends none. */
  time: string | null;
  crc: CrcStatus;
  objects: Record<string, CosemObject>;
  /** Malformed lines; omitted from JSON output when empty. */
  errors?: LineError[];
}

export interface ParseOptions {
  /** tz database zone for timestamps without S/W (DSMR 2.2/3). Default: Europe/Amsterdam. */
  timeZone?: string;
}
