import type { QueueRecord } from '../queue/types.js';
import { normaliseReference } from '../telegram/obis.js';
import { parseTelegram } from '../telegram/parse.js';
import { isoToEpochMs } from '../telegram/time.js';
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

/** Electricity field names by id: a field's id is its position in ELECTRICITY_FIELDS. */
export const ELECTRICITY_FIELD_NAMES: readonly string[] = [...new Set([...ELECTRICITY_FIELDS.values()].map((f) => f.field))];

/** How each reference as sent maps, memoised: meters repeat the same few dozen references every telegram. */
type Mapping =
  | { kind: 'electricity'; id: number; scale: Scale }
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
    mapping = { kind: 'electricity', id: ELECTRICITY_FIELD_NAMES.indexOf(electricity.field), scale: electricity.scale };
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
  const ms = isoToEpochMs(iso) ?? Date.parse(iso);
  return Number.isFinite(ms) ? ms : undefined;
}

interface Channel {
  type?: number;
  id?: string;
  reading?: CosemObject;
  rank: number;
}

/**
 * A telegram's points in a reusable form: the electricity point's fields as parallel arrays (ids into
 * ELECTRICITY_FIELD_NAMES, values) in the order the telegram sends them. The line protocol writer reads these
 * directly; a dictionary of some 35 keys per telegram, walked again right after, was a tenth of a backlog drain.
 * Overwritten by the next mapTelegram call that is given the same object.
 */
export interface MappedTelegram {
  /** Electricity fields; 0 when the telegram has none (then no electricity point). */
  fieldCount: number;
  readonly fieldIds: Int32Array;
  readonly fieldValues: Float64Array;
  /** The electricity point's time; undefined when it has no point (no field, or no time at all). */
  time: number | undefined;
  /** The meter's equipment id (the `meter` tag), when the electricity point has one. */
  meter: string | undefined;
  /** M-Bus devices' points, by channel. */
  mbus: Point[];
}

export function newMappedTelegram(): MappedTelegram {
  const size = ELECTRICITY_FIELD_NAMES.length;
  return { fieldCount: 0, fieldIds: new Int32Array(size), fieldValues: new Float64Array(size), time: undefined, meter: undefined, mbus: [] };
}

/** Where each field id sits in the telegram being mapped: a field sent twice keeps its place, the last value wins. */
const slotOf = new Int32Array(ELECTRICITY_FIELD_NAMES.length);
const slotStamp = new Float64Array(ELECTRICITY_FIELD_NAMES.length);
let stamp = 0;

/**
 * A parsed telegram -> its points (see telegramToPoints), written into `out`: one electricity point at the meter's
 * time (the receive time when the meter sends none) tagged with the meter's equipment id, plus one point per M-Bus
 * device at that device's own reading time.
 */
export function mapTelegram(telegram: Telegram, receivedAt: string, out: MappedTelegram): MappedTelegram {
  stamp++;
  let fieldCount = 0;
  let channels: Map<string, Channel> | undefined;
  for (const reference in telegram.objects) {
    const object = telegram.objects[reference]!;
    const mapping = mappingOf(reference);
    if (mapping.kind === 'electricity') {
      const value = scaled(object, mapping.scale);
      if (value === undefined) continue;
      const id = mapping.id;
      if (slotStamp[id] === stamp) {
        out.fieldValues[slotOf[id]!] = value;
      } else {
        slotStamp[id] = stamp;
        slotOf[id] = fieldCount;
        out.fieldIds[fieldCount] = id;
        out.fieldValues[fieldCount] = value;
        fieldCount++;
      }
    } else if (mapping.kind === 'mbus') {
      channels ??= new Map();
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

  out.fieldCount = fieldCount;
  out.time = fieldCount > 0 ? (timeOf(telegram.time) ?? timeOf(receivedAt)) : undefined;
  out.meter = out.time === undefined ? undefined : meterId(telegram);
  out.mbus = [];
  if (channels === undefined) return out;
  for (const [number, channel] of [...channels].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const reading = channel.reading;
    if (reading === undefined || typeof reading.value !== 'number' || !Number.isFinite(reading.value)) continue;
    const time = timeOf(reading.time);
    if (time === undefined || time < EARLIEST_READING_MS) continue;
    const measurement = (channel.type === undefined ? undefined : MBUS_MEASUREMENT.get(channel.type)) ?? 'mbus';
    const tags: Record<string, string> = channel.id === undefined ? { channel: number } : { channel: number, meter: channel.id };
    out.mbus.push({ measurement, tags, fields: { value: reading.value }, time });
  }
  return out;
}

const scratch = newMappedTelegram();

/**
 * A parsed telegram -> its points: one `electricity` point at the meter's time (the receive time when the meter
 * sends none) tagged with the meter's equipment id, plus one point per M-Bus device at that device's own reading
 * time. Pure and deterministic: the same telegram gives the same points, so a re-send overwrites.
 */
export function telegramToPoints(telegram: Telegram, receivedAt: string): Point[] {
  const mapped = mapTelegram(telegram, receivedAt, scratch);
  const points: Point[] = [];
  if (mapped.time !== undefined) {
    const fields: Record<string, number> = {};
    for (let i = 0; i < mapped.fieldCount; i++) fields[ELECTRICITY_FIELD_NAMES[mapped.fieldIds[i]!]!] = mapped.fieldValues[i]!;
    points.push({ measurement: 'electricity', tags: mapped.meter === undefined ? {} : { meter: mapped.meter }, fields, time: mapped.time });
  }
  points.push(...mapped.mbus);
  return points;
}

function meterId(telegram: Telegram): string | undefined {
  for (const reference of METER_ID_REFERENCES) {
    const id = identifier(telegram.objects[reference] ?? telegram.objects[`${reference}*255`]);
    if (id !== undefined) return id;
  }
  return undefined;
}

/** A stored record -> its points (the raw text is the record of truth: parsed again here, so parser fixes apply). */
export function recordToPoints(record: QueueRecord, options: ParseOptions = {}): Point[] {
  return telegramToPoints(parseTelegram(record.raw, options), record.receivedAt);
}
