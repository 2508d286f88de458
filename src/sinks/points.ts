import type { QueueRecord } from '../queue/types.js';
import { normaliseReference } from '../telegram/obis.js';
import { parseTelegram } from '../telegram/parse.js';
import type { CosemObject, ParseOptions, Telegram } from '../telegram/types.js';

/**
 * One measurement at one time: what every sink receives (design.md, "Points"). Field names are the contract
 * dashboards are built on: keep them stable (the README lists them).
 */
export interface Point {
  measurement: 'electricity' | 'gas' | 'water' | 'heat' | 'mbus';
  /** Never empty strings; keys in sorted order. */
  tags: Readonly<Record<string, string>>;
  fields: Readonly<Record<string, number>>;
  /** Epoch milliseconds. */
  time: number;
}

/** Fields stored as integers (line protocol `i`): a field's type must never change, or InfluxDB refuses the write. */
export const INTEGER_FIELDS: ReadonlySet<string> = new Set([
  'tariff',
  'failures',
  'long_failures',
  'sags_l1',
  'sags_l2',
  'sags_l3',
  'swells_l1',
  'swells_l2',
  'swells_l3',
]);

type Scale = 'energy' | 'power' | 'none' | 'integer';

/** OBIS reference (normalised: no `*255`) -> electricity field. Energy is kWh and power kW whatever the meter sends. */
export const ELECTRICITY_FIELDS: ReadonlyMap<string, { field: string; scale: Scale }> = new Map(
  (
    [
      ['1-0:1.8.0', 'import_total', 'energy'],
      ['1-0:1.8.1', 'import_t1', 'energy'],
      ['1-0:1.8.2', 'import_t2', 'energy'],
      ['1-0:1.8.3', 'import_t3', 'energy'],
      ['1-0:1.8.4', 'import_t4', 'energy'],
      ['1-0:2.8.0', 'export_total', 'energy'],
      ['1-0:2.8.1', 'export_t1', 'energy'],
      ['1-0:2.8.2', 'export_t2', 'energy'],
      ['1-0:2.8.3', 'export_t3', 'energy'],
      ['1-0:2.8.4', 'export_t4', 'energy'],
      ['1-0:1.7.0', 'power_import', 'power'],
      ['1-0:2.7.0', 'power_export', 'power'],
      ['0-0:96.14.0', 'tariff', 'integer'],
      ['1-0:32.7.0', 'voltage_l1', 'none'],
      ['1-0:52.7.0', 'voltage_l2', 'none'],
      ['1-0:72.7.0', 'voltage_l3', 'none'],
      ['1-0:31.7.0', 'current_l1', 'none'],
      ['1-0:51.7.0', 'current_l2', 'none'],
      ['1-0:71.7.0', 'current_l3', 'none'],
      ['1-0:21.7.0', 'power_import_l1', 'power'],
      ['1-0:41.7.0', 'power_import_l2', 'power'],
      ['1-0:61.7.0', 'power_import_l3', 'power'],
      ['1-0:22.7.0', 'power_export_l1', 'power'],
      ['1-0:42.7.0', 'power_export_l2', 'power'],
      ['1-0:62.7.0', 'power_export_l3', 'power'],
      ['0-0:96.7.21', 'failures', 'integer'],
      ['0-0:96.7.9', 'long_failures', 'integer'],
      ['1-0:32.32.0', 'sags_l1', 'integer'],
      ['1-0:52.32.0', 'sags_l2', 'integer'],
      ['1-0:72.32.0', 'sags_l3', 'integer'],
      ['1-0:32.36.0', 'swells_l1', 'integer'],
      ['1-0:52.36.0', 'swells_l2', 'integer'],
      ['1-0:72.36.0', 'swells_l3', 'integer'],
      ['1-0:1.4.0', 'demand_avg', 'power'],
      ['1-0:1.6.0', 'demand_peak_month', 'power'],
    ] as const
  ).map(([ref, field, scale]) => [ref, { field, scale }]),
);

/** M-Bus device types (EN 13757-3) with a measurement of their own; any other device is `mbus`. */
const MBUS_MEASUREMENT: ReadonlyMap<number, Point['measurement']> = new Map([
  [3, 'gas'],
  [7, 'water'],
  [4, 'heat'],
]);

/** The meter's own equipment id, in order of preference (EasyMeter sends 0-0:96.1.255, some only a serial). */
const METER_ID_REFERENCES = ['0-0:96.1.1', '0-0:96.1.0', '0-0:96.1.255', '1-0:0.0.0'];
/** Readings of an M-Bus channel, preferred first: DSMR 4/5, Belgian gas, DSMR 2.2/3 gas. */
const MBUS_READINGS = ['24.2.1', '24.2.3', '24.3.0'];
/** Meters fill an unread M-Bus channel with a placeholder time (1970, 2000-00-00): such a reading is no reading. */
const EARLIEST_READING_MS = Date.UTC(2000, 0, 1);

/** How each reference as sent maps, memoised: meters repeat the same few dozen references every telegram. */
type Mapping =
  | { kind: 'electricity'; field: string; scale: Scale }
  | { kind: 'mbus'; channel: string; what: 'type' | 'id' | 'reading'; rank: number }
  | { kind: 'other' };
const mappings = new Map<string, Mapping>();
const MAX_MAPPINGS = 1024;

function mappingOf(reference: string): Mapping {
  let mapping = mappings.get(reference);
  if (mapping !== undefined) return mapping;
  const normalised = normaliseReference(reference);
  const electricity = ELECTRICITY_FIELDS.get(normalised);
  if (electricity !== undefined) {
    mapping = { kind: 'electricity', ...electricity };
  } else if (normalised.startsWith('0-n:')) {
    const channel = reference.charAt(2);
    const rest = normalised.slice(4);
    const rank = MBUS_READINGS.indexOf(rest);
    if (rest === '24.1.0') mapping = { kind: 'mbus', channel, what: 'type', rank: 0 };
    else if (rest === '96.1.0' || rest === '96.1.1') mapping = { kind: 'mbus', channel, what: 'id', rank: 0 };
    else if (rank !== -1) mapping = { kind: 'mbus', channel, what: 'reading', rank };
    else mapping = { kind: 'other' };
  } else {
    mapping = { kind: 'other' };
  }
  if (mappings.size < MAX_MAPPINGS) mappings.set(reference, mapping);
  return mapping;
}

function scaled(object: CosemObject, scale: Scale): number | undefined {
  const value = object.value;
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  switch (scale) {
    case 'integer':
      return Number.isSafeInteger(value) ? value : undefined;
    case 'energy':
      return object.unit === 'Wh' ? value / 1000 : value;
    case 'power':
      return object.unit === 'W' ? value / 1000 : value;
    case 'none':
      return value;
  }
}

/** The identifier as text: decoded when the meter hex-encodes it printably, else as sent; undefined when empty. */
function identifier(object: CosemObject | undefined): string | undefined {
  if (object === undefined) return undefined;
  const text = object.text ?? (typeof object.value === 'string' ? object.value : undefined);
  const clean = text?.trim();
  return clean === undefined || clean === '' ? undefined : clean;
}

function timeOf(iso: string | null | undefined): number | undefined {
  if (iso === null || iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : undefined;
}

interface Channel {
  type?: number;
  id?: string;
  reading?: CosemObject;
  rank: number;
}

/**
 * A parsed telegram -> its points: one `electricity` point at the meter's time (the receive time when the meter
 * sends none) tagged with the meter's equipment id, plus one point per M-Bus device at that device's own reading
 * time. Pure and deterministic: the same telegram gives the same points, so a re-send overwrites.
 */
export function telegramToPoints(telegram: Telegram, receivedAt: string): Point[] {
  const fields: Record<string, number> = {};
  let fieldCount = 0;
  const channels = new Map<string, Channel>();
  for (const reference in telegram.objects) {
    const object = telegram.objects[reference]!;
    const mapping = mappingOf(reference);
    if (mapping.kind === 'electricity') {
      const value = scaled(object, mapping.scale);
      if (value !== undefined) {
        fields[mapping.field] = value;
        fieldCount++;
      }
    } else if (mapping.kind === 'mbus') {
      let channel = channels.get(mapping.channel);
      if (channel === undefined) {
        channel = { rank: Number.POSITIVE_INFINITY };
        channels.set(mapping.channel, channel);
      }
      if (mapping.what === 'type') {
        if (typeof object.value === 'number') channel.type = object.value;
      } else if (mapping.what === 'id') {
        const id = channel.id ?? identifier(object);
        if (id !== undefined) channel.id = id;
      } else if (mapping.rank < channel.rank) {
        channel.reading = object;
        channel.rank = mapping.rank;
      }
    }
  }

  const points: Point[] = [];
  if (fieldCount > 0) {
    const time = timeOf(telegram.time) ?? timeOf(receivedAt);
    if (time !== undefined) points.push({ measurement: 'electricity', tags: meterTags(telegram), fields, time });
  }
  for (const [number, channel] of [...channels].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const reading = channel.reading;
    if (reading === undefined || typeof reading.value !== 'number' || !Number.isFinite(reading.value)) continue;
    const time = timeOf(reading.time);
    if (time === undefined || time < EARLIEST_READING_MS) continue;
    const measurement = (channel.type === undefined ? undefined : MBUS_MEASUREMENT.get(channel.type)) ?? 'mbus';
    const tags: Record<string, string> = channel.id === undefined ? { channel: number } : { channel: number, meter: channel.id };
    points.push({ measurement, tags, fields: { value: reading.value }, time });
  }
  return points;
}

function meterTags(telegram: Telegram): Record<string, string> {
  for (const reference of METER_ID_REFERENCES) {
    const id = identifier(telegram.objects[reference] ?? telegram.objects[`${reference}*255`]);
    if (id !== undefined) return { meter: id };
  }
  return {};
}

/** A stored record -> its points (the raw text is the record of truth: parsed again here, so parser fixes apply). */
export function recordToPoints(record: QueueRecord, options: ParseOptions = {}): Point[] {
  return telegramToPoints(parseTelegram(record.raw, options), record.receivedAt);
}
