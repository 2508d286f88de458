import { readDlmsRecord } from '../frames/dlms/record.js';
import type { DlmsReading } from '../frames/dlms/reading.js';
import type { QueueRecord } from '../queue/types.js';
import { normaliseReference } from '../telegram/obis.js';
import { walkTelegram } from '../telegram/parse.js';
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

/**
 * How each reference as sent maps, memoised: meters repeat the same few dozen references every telegram. `seen`
 * and `at` belong to the telegram being collected (ObjectList), so that a reference sent twice is found at once.
 */
type MappingKind =
  | { kind: 'electricity'; id: number; scale: Scale }
  | { kind: 'mbus'; channel: string; what: 'type' | 'id' | 'reading'; rank: number }
  | { kind: 'time' }
  | { kind: 'meter'; rank: number }
  | { kind: 'other' };
type Mapping = MappingKind & { seen: number; at: number };
const mappings = new Map<string, Mapping>();
const MAX_MAPPINGS = 1024;

/** The meter's id as parseTelegram keys it: each reference of METER_ID_REFERENCES, then the same with `*255`. */
const METER_KEYS = METER_ID_REFERENCES.flatMap((reference) => [reference, `${reference}*255`]);
/** The meter's time, under exactly this key (as parseTelegram's `time`). */
const TIME_KEY = '0-0:1.0.0';

/** Kamstrup and Landis+Gyr count electricity on channel 1 (`1-1:1.7.0`): the same quantity as `1-0:1.7.0`. */
function onChannelZero(reference: string): string {
  return reference.startsWith('1-1:') ? `1-0:${reference.slice(4)}` : reference;
}

function mappingOf(reference: string): Mapping {
  const known = mappings.get(reference);
  if (known !== undefined) return known;
  const mapping = { ...kindOf(reference), seen: 0, at: 0 };
  if (mappings.size < MAX_MAPPINGS) mappings.set(reference, mapping);
  return mapping;
}

function kindOf(reference: string): MappingKind {
  if (reference === TIME_KEY) return { kind: 'time' };
  const meterRank = METER_KEYS.indexOf(reference);
  if (meterRank !== -1) return { kind: 'meter', rank: meterRank };
  let mapping: MappingKind;
  const normalised = normaliseReference(reference);
  const electricity = ELECTRICITY_FIELDS.get(normalised) ?? ELECTRICITY_FIELDS.get(onChannelZero(normalised));
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
 * Overwritten by the next mapTelegram or mapRaw call that is given the same object.
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
  /** Further points: M-Bus devices' (by channel), and a DLMS meter's registers captured at their own time. */
  extra: Point[];
}

export function newMappedTelegram(): MappedTelegram {
  const size = ELECTRICITY_FIELD_NAMES.length;
  return { fieldCount: 0, fieldIds: new Int32Array(size), fieldValues: new Float64Array(size), time: undefined, meter: undefined, extra: [] };
}

/**
 * The objects of the telegram being mapped, in order, those that map to something only; a reference sent twice
 * is kept once, in its first place with its last object, as parseTelegram's record keeps it.
 */
class ObjectList {
  readonly mappings: Mapping[] = [];
  readonly objects: CosemObject[] = [];
  count = 0;
  private readonly references: string[] = [];
  private stamp = 0;

  /** A walkTelegram visitor (an arrow function, so it can be handed over as it is). */
  readonly add = (reference: string, object: CosemObject): void => {
    const mapping = mappingOf(reference);
    if (mapping.kind === 'other') return;
    if (mapping.seen === this.stamp) {
      this.objects[mapping.at] = object;
      return;
    }
    // A mapping the memo had no room for is new on every call: look for its reference the slow way.
    if (mappings.get(reference) !== mapping) {
      for (let i = 0; i < this.count; i++) {
        if (this.mappings[i]!.kind === mapping.kind && this.references[i] === reference) {
          this.objects[i] = object;
          return;
        }
      }
    }
    mapping.seen = this.stamp;
    mapping.at = this.count;
    this.mappings[this.count] = mapping;
    this.references[this.count] = reference;
    this.objects[this.count] = object;
    this.count++;
  };

  reset(): void {
    this.stamp++;
    this.count = 0;
  }
}

const list = new ObjectList();

/** Where each field id sits in the telegram being mapped: a field sent twice keeps its place, the last value wins. */
const slotOf = new Int32Array(ELECTRICITY_FIELD_NAMES.length);
const slotStamp = new Float64Array(ELECTRICITY_FIELD_NAMES.length);
let stamp = 0;
/** The meter id objects of the telegram being mapped, by rank in METER_KEYS. */
const meterObjects: Array<CosemObject | undefined> = METER_KEYS.map(() => undefined);

/**
 * A parsed telegram -> its points (see telegramToPoints), written into `out`: one electricity point at the meter's
 * time (the receive time when the meter sends none) tagged with the meter's equipment id, plus one point per M-Bus
 * device at that device's own reading time.
 */
export function mapTelegram(telegram: Telegram, receivedAt: string, out: MappedTelegram): MappedTelegram {
  list.reset();
  for (const reference in telegram.objects) list.add(reference, telegram.objects[reference]!);
  return mapObjects(telegram.time, receivedAt, out);
}

/**
 * A stored telegram's text -> its points, as mapTelegram(parseTelegram(raw)) gives them, without building the
 * parsed telegram: what a backlog drain does for every record.
 */
export function mapRaw(raw: string, receivedAt: string, options: ParseOptions, out: MappedTelegram): MappedTelegram {
  list.reset();
  walkTelegram(raw, options, list.add);
  return mapObjects(undefined, receivedAt, out);
}

/**
 * A DLMS meter's reading -> its points, into `out`: the same electricity fields as a DSMR telegram's, at the
 * notification's time (the receive time when it has none), tagged with the meter's id; registers the list captured
 * at another time (the hourly list 3's energies after its clock) are an electricity point at that time.
 */
export function mapReading(reading: DlmsReading, receivedAt: string, out: MappedTelegram): MappedTelegram {
  list.reset();
  let own: Map<string, Record<string, number>> | undefined;
  for (const reference in reading.objects) {
    const object = reading.objects[reference]!;
    if (typeof object.time !== 'string' || object.time === reading.time) {
      list.add(reference, object);
      continue;
    }
    const mapping = mappingOf(reference);
    if (mapping.kind !== 'electricity') continue;
    const value = scaled(object, mapping.scale);
    if (value === undefined) continue;
    own ??= new Map();
    let fields = own.get(object.time);
    if (fields === undefined) own.set(object.time, (fields = {}));
    fields[ELECTRICITY_FIELD_NAMES[mapping.id]!] = value;
  }
  mapObjects(reading.time, receivedAt, out);
  const tags: Record<string, string> = reading.meter === null ? {} : { meter: reading.meter };
  if (out.time !== undefined) out.meter = reading.meter ?? undefined;
  for (const [iso, fields] of own ?? []) {
    const time = timeOf(iso);
    if (time !== undefined) out.extra.push({ measurement: 'electricity', tags, fields, time });
  }
  return out;
}

/**
 * The collected objects -> points. `telegramTime` is the parsed telegram's time; undefined when there is no parsed
 * telegram, and the time is then its 0-0:1.0.0 object's, as parseTelegram would give it.
 */
function mapObjects(telegramTime: string | null | undefined, receivedAt: string, out: MappedTelegram): MappedTelegram {
  stamp++;
  let timeObject: string | null = null;
  let fieldCount = 0;
  let channels: Map<string, Channel> | undefined;
  meterObjects.fill(undefined);
  for (let i = 0; i < list.count; i++) {
    const object = list.objects[i]!;
    const mapping = list.mappings[i]!;
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
    } else if (mapping.kind === 'meter') {
      meterObjects[mapping.rank] = object;
    } else if (mapping.kind === 'time') {
      timeObject = typeof object.value === 'string' ? object.value : null;
    }
  }

  out.fieldCount = fieldCount;
  out.time = fieldCount > 0 ? (timeOf(telegramTime === undefined ? timeObject : telegramTime) ?? timeOf(receivedAt)) : undefined;
  out.meter = out.time === undefined ? undefined : meterId();
  out.extra = [];
  if (channels === undefined) return out;
  for (const [number, channel] of [...channels].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const reading = channel.reading;
    if (reading === undefined || typeof reading.value !== 'number' || !Number.isFinite(reading.value)) continue;
    const time = timeOf(reading.time);
    if (time === undefined || time < EARLIEST_READING_MS) continue;
    const measurement = (channel.type === undefined ? undefined : MBUS_MEASUREMENT.get(channel.type)) ?? 'mbus';
    const tags: Record<string, string> = channel.id === undefined ? { channel: number } : { channel: number, meter: channel.id };
    out.extra.push({ measurement, tags, fields: { value: reading.value }, time });
  }
  return out;
}

/** The first of METER_ID_REFERENCES with an identifier (each as sent, or else with `*255`). */
function meterId(): string | undefined {
  for (let rank = 0; rank < METER_KEYS.length; rank += 2) {
    const id = identifier(meterObjects[rank] ?? meterObjects[rank + 1]);
    if (id !== undefined) return id;
  }
  return undefined;
}

const scratch = newMappedTelegram();

/**
 * A parsed telegram -> its points: one `electricity` point at the meter's time (the receive time when the meter
 * sends none) tagged with the meter's equipment id, plus one point per M-Bus device at that device's own reading
 * time. Pure and deterministic: the same telegram gives the same points, so a re-send overwrites.
 */
export function telegramToPoints(telegram: Telegram, receivedAt: string): Point[] {
  return pointsOf(mapTelegram(telegram, receivedAt, scratch));
}

/** A mapped telegram -> its points, as objects (the electricity point's fields become a dictionary). */
export function pointsOf(mapped: MappedTelegram): Point[] {
  const points: Point[] = [];
  if (mapped.time !== undefined) {
    const fields: Record<string, number> = {};
    for (let i = 0; i < mapped.fieldCount; i++) fields[ELECTRICITY_FIELD_NAMES[mapped.fieldIds[i]!]!] = mapped.fieldValues[i]!;
    points.push({ measurement: 'electricity', tags: mapped.meter === undefined ? {} : { meter: mapped.meter }, fields, time: mapped.time });
  }
  points.push(...mapped.extra);
  return points;
}

/** A stored record -> its points (the raw text is the record of truth: parsed again here, so parser fixes apply). */
export function recordToPoints(record: QueueRecord, options: ParseOptions = {}): Point[] {
  return pointsOf(mapRecord(record, options, scratch));
}

/**
 * A stored record of any protocol -> its points, into `out`. A DLMS record that does not decode (written by a
 * release that read more than this one) maps to no point.
 */
export function mapRecord(record: QueueRecord, options: ParseOptions, out: MappedTelegram): MappedTelegram {
  if (record.protocol === 'dsmr') return mapRaw(record.raw, record.receivedAt, options, out);
  const reading = readDlmsRecord(record.raw, options);
  if (reading !== null) return mapReading(reading, record.receivedAt, out);
  out.fieldCount = 0;
  out.time = undefined;
  out.meter = undefined;
  out.extra = [];
  return out;
}
