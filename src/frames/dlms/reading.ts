import type { CosemObject } from '../../telegram/types.js';
import type { DataNotification } from './apdu.js';
import type { DlmsData } from './axdr.js';
import { DATE_TIME_BYTES, dateTimeToIso, readDateTime } from './date-time.js';
import { obisOctets } from './encode.js';
import {
  DESCRIBED_LIST_UNITS,
  MAKER_PREFIXES,
  OBIS_LIST_UNITS,
  POSITIONAL_LAYOUTS,
  type FirstElement,
  type ImpliedUnits,
  type PositionalLayout,
} from './layouts.js';
import { unitName } from './units.js';

/**
 * One data-notification as p1logger reads it: the `p1logger parse` contract for DLMS meters (README, "DLMS
 * readings"). Objects are keyed by OBIS `A-B:C.D.E` (`*F` when F is not 255), values after the scaler, with units.
 */
export interface DlmsReading {
  protocol: 'dlms';
  /** The meter's maker, when its list or names tell. */
  maker: string | null;
  /** The list id the meter sends (AIDON_V0001, KFM_001, Kamstrup_V0001), null when it sends none. */
  list: string | null;
  /** How the list was read: `obis` (OBIS codes in the list), `described` (a capture-object list), or a layout name. */
  layout: string;
  /** The meter's id (serial or GS1 number). */
  meter: string | null;
  /** The notification's time (ISO 8601 with offset), else its clock object's; null when it has neither. */
  time: string | null;
  objects: Record<string, CosemObject>;
}

export interface ReadOptions {
  /** tz database zone for clocks that leave the UTC deviation unspecified. Default: Europe/Amsterdam. */
  timeZone?: string;
}

/** One value of the list with what names it: its OBIS code (null when unnamed) and scaler/unit when sent. */
interface Labelled {
  obis: Uint8Array | null;
  data: DlmsData;
  scalerUnit?: { scaler: number; unit: number };
}

interface Family {
  layout: string;
  maker: string | null;
  values: Labelled[];
  units: ImpliedUnits | null;
  meterAt?: Labelled;
}

const NULL_DATA: DlmsData = { type: 'null' };
/** Ids in order of preference: serial numbers first, Kamstrup's GS1 number, then the logical device name. */
const METER_ID_REFERENCES = ['0-0:96.1.0', '0-0:96.1.1', '1-1:0.0.5', '1-0:0.0.5', '0-0:42.0.0', '0-0:96.1.2'];
const LIST_ID_REFERENCES = ['1-1:0.2.129', '1-0:0.2.129', '0-0:0.2.129'];
const METER_TYPE_REFERENCES = ['1-1:96.1.1', '0-0:96.1.7', '0-0:96.1.1'];

/** The reading a notification holds. Pure; never throws. */
export function readNotification(notification: DataNotification, options: ReadOptions = {}): DlmsReading {
  const body = notification.body;
  const items = body.type === 'structure' || body.type === 'array' ? body.items : [body];
  const count = body.type === 'structure' || body.type === 'array' ? body.declared : 1;
  const family = described(items) ?? positional(items, count) ?? obisCoded(items);

  const listId = leadingText(family) ?? null;
  let units = family.units;
  let maker = family.maker;
  const objects: Record<string, CosemObject> = {};
  const references: string[] = [];
  // First pass: names and raw values, to find the list id and meter type that choose implied units.
  for (const value of family.values) references.push(value.obis === null ? '' : obisReference(value.obis));
  const named = (refs: readonly string[]): DlmsData | undefined => {
    for (const ref of refs) {
      const at = references.indexOf(ref);
      if (at !== -1) return family.values[at]!.data;
    }
    return undefined;
  };
  const list = listId ?? textOf(named(LIST_ID_REFERENCES)) ?? null;
  if (units === null && list !== null) {
    const known = OBIS_LIST_UNITS.find((entry) => entry.list === list);
    if (known !== undefined) {
      const type = textOf(named(METER_TYPE_REFERENCES)) ?? '';
      units = known.variants?.find((variant) => variant.meterType.test(type))?.units ?? known.units;
      maker ??= known.maker;
    }
  }

  const timeZone = options.timeZone;
  let clock: string | null = null;
  let unnamedTime: string | null = null;
  const afterClock: string[] = [];
  family.values.forEach((value, index) => {
    const reference = references[index]!;
    if (reference === '') {
      unnamedTime ??= dateTimeOf(value.data, timeZone);
      return;
    }
    const object = toObject(reference, value, units, timeZone);
    if (reference.endsWith(':1.0.0') && typeof object.value === 'string' && isClock(value.data)) {
      clock ??= object.value;
    } else if (clock !== null) {
      afterClock.push(reference);
    }
    objects[reference] = object;
  });

  const own = notification.dateTime === null ? null : readDateTime(notification.dateTime);
  const time = (own === null ? null : dateTimeToIso(own, timeZone)) ?? clock ?? unnamedTime;
  // Registers after a clock in the list were captured at that clock's time (the hourly list 3).
  if (clock !== null && clock !== time) for (const reference of afterClock) objects[reference]!.time = clock;

  let meter: string | null = null;
  for (const reference of METER_ID_REFERENCES) {
    const object = objects[reference];
    const id = object === undefined ? undefined : identifier(object);
    if (id !== undefined) {
      meter = id;
      break;
    }
  }
  if (meter === null && family.meterAt !== undefined) meter = textOf(family.meterAt.data)?.trim() || null;
  maker ??= makerOf([list, textOf(named(['0-0:42.0.0']))]);
  return { protocol: 'dlms', maker, list, layout: family.layout, meter, time, objects };
}

/** A list whose first element describes the capture objects (class, OBIS, attribute, index) of those that follow. */
function described(items: readonly DlmsData[]): Family | null {
  const first = items[0];
  if (first?.type !== 'array' || first.items.length === 0) return null;
  const descriptors: Array<{ classId: number; obis: Uint8Array }> = [];
  for (const item of first.items) {
    if (item.type !== 'structure' || item.items.length !== 4) return null;
    const [classId, obis] = item.items;
    if (classId?.type !== 'number' || obis?.type !== 'octets' || obis.bytes.length !== 6) return null;
    descriptors.push({ classId: classId.value, obis: obis.bytes });
  }
  const values: Labelled[] = [];
  descriptors.forEach((descriptor, index) => {
    // Class 40 is the push setup itself: its list and its name say nothing about the meter.
    if (index === 0 || descriptor.classId === PUSH_SETUP_CLASS) return;
    values.push({ obis: descriptor.obis, data: items[index] ?? NULL_DATA });
  });
  return { layout: 'described', maker: null, values, units: DESCRIBED_LIST_UNITS };
}

const PUSH_SETUP_CLASS = 40;

function positional(items: readonly DlmsData[], count: number): Family | null {
  const layout = POSITIONAL_LAYOUTS.find((candidate) => candidate.count === count && firstMatches(candidate.first, items[0]));
  if (layout === undefined) return null;
  const values: Labelled[] = layout.elements.map((reference, index) => ({
    obis: reference === null ? null : obisOctets(reference),
    data: items[index] ?? NULL_DATA,
  }));
  return withMeter(layout, values, items);
}

function withMeter(layout: PositionalLayout, values: Labelled[], items: readonly DlmsData[]): Family {
  const family: Family = { layout: layout.name, maker: layout.maker, values, units: layout.units };
  if (layout.meterAt !== undefined) family.meterAt = { obis: null, data: items[layout.meterAt] ?? NULL_DATA };
  return family;
}

function firstMatches(first: FirstElement, item: DlmsData | undefined): boolean {
  if (item === undefined) return false;
  switch (first.kind) {
    case 'number':
      return item.type === 'number';
    case 'text':
      return textOf(item) === first.text;
    case 'octets':
      return item.type === 'octets' && item.bytes.length === first.length;
    case 'hex':
      return item.type === 'octets' && Buffer.from(item.bytes).toString('hex') === first.hex;
  }
}

/**
 * A list of OBIS codes each followed by its value and, optionally, its scaler and unit: nested (Aidon's
 * structures of three) or flat (Kamstrup, Austrian lists). Anything else in the list is an unnamed value.
 */
function obisCoded(items: readonly DlmsData[]): Family {
  const flat: DlmsData[] = [];
  const flatten = (data: DlmsData): void => {
    if ((data.type === 'structure' || data.type === 'array') && !isScalerUnit(data)) data.items.forEach(flatten);
    else flat.push(data);
  };
  items.forEach(flatten);
  const values: Labelled[] = [];
  for (let i = 0; i < flat.length; i++) {
    const data = flat[i]!;
    if (data.type === 'octets' && data.bytes.length === 6 && i + 1 < flat.length && !isScalerUnit(flat[i + 1]!)) {
      const value: Labelled = { obis: data.bytes, data: flat[i + 1]! };
      const next = flat[i + 2];
      if (next !== undefined && isScalerUnit(next)) {
        const [scaler, unit] = next.type === 'structure' ? next.items : [];
        if (scaler?.type === 'number' && unit?.type === 'enum') value.scalerUnit = { scaler: scaler.value, unit: unit.value };
        i++;
      }
      values.push(value);
      i++;
    } else {
      values.push({ obis: null, data });
    }
  }
  return { layout: 'obis', maker: null, values, units: null };
}

function isScalerUnit(data: DlmsData): boolean {
  return data.type === 'structure' && data.items.length === 2 && data.items[0]!.type === 'number' && data.items[1]!.type === 'enum';
}

/** The list id Kamstrup sends as the first, unnamed, element. */
function leadingText(family: Family): string | undefined {
  const first = family.values[0];
  if (first === undefined || first.obis !== null || family.layout !== 'obis') return undefined;
  return first.data.type === 'string' ? first.data.value : undefined;
}

export function obisReference(obis: Uint8Array): string {
  const base = `${obis[0]}-${obis[1]}:${obis[2]}.${obis[3]}.${obis[4]}`;
  return obis[5] === 0xff ? base : `${base}*${obis[5]}`;
}

function toObject(reference: string, labelled: Labelled, implied: ImpliedUnits | null, timeZone: string | undefined): CosemObject {
  const data = labelled.data;
  switch (data.type) {
    case 'number': {
      let scaler = 0;
      let unit: string | undefined;
      if (labelled.scalerUnit !== undefined) {
        scaler = labelled.scalerUnit.scaler;
        unit = unitName(labelled.scalerUnit.unit);
      } else if (implied !== null && reference.startsWith('1-')) {
        const entry = implied[groupOf(reference)];
        if (entry !== undefined) [scaler, unit] = entry;
      }
      const value = applyScaler(data.value, scaler);
      return unit === undefined ? { value } : { value, unit };
    }
    case 'enum':
      return { value: data.value };
    case 'boolean':
      return { value: data.value ? 1 : 0 };
    case 'string':
      return { value: data.value };
    case 'date-time':
    case 'octets': {
      const time = isClock(data) ? dateTimeOf(data, timeZone) : null;
      if (time !== null) return { value: time };
      // A tariff sent as two bytes is the number they make (Iskra's ECE lists).
      if (reference === '0-0:96.14.0' && data.type === 'octets' && data.bytes.length <= 2) return { value: data.bytes.reduce((n, b) => n * 256 + b, 0) };
      return octetsObject(data.bytes);
    }
    case 'bit-string':
      return { value: Buffer.from(data.bytes).toString('hex').toUpperCase() };
    default:
      return { value: null };
  }
}

/** `C.D` of `A-B:C.D.E`. */
function groupOf(reference: string): string {
  const colon = reference.indexOf(':');
  const parts = reference.slice(colon + 1).split('.');
  return `${parts[0]}.${parts[1]}`;
}

/** raw x 10^scaler, without binary noise: 2307 with scaler -1 is 230.7, not 230.70000000000002. */
export function applyScaler(raw: number, scaler: number): number {
  if (scaler === 0) return raw;
  return scaler < 0 ? raw / 10 ** -scaler : raw * 10 ** scaler;
}

/** Octet strings as DSMR's hex-encoded ids are kept: `value` as sent (hex), `text` when it is printable ASCII. */
function octetsObject(bytes: Uint8Array): CosemObject {
  const value = Buffer.from(bytes).toString('hex').toUpperCase();
  if (bytes.length === 0 || !bytes.every((b) => b >= 0x20 && b < 0x7f)) return { value };
  return { value, text: Buffer.from(bytes).toString('latin1') };
}

function isClock(data: DlmsData): boolean {
  return data.type === 'date-time' || (data.type === 'octets' && data.bytes.length === DATE_TIME_BYTES);
}

function dateTimeOf(data: DlmsData, timeZone: string | undefined): string | null {
  if (!isClock(data)) return null;
  const bytes = (data as { bytes: Uint8Array }).bytes;
  const dateTime = readDateTime(bytes);
  return dateTime === null ? null : dateTimeToIso(dateTime, timeZone);
}

function textOf(data: DlmsData | undefined): string | undefined {
  if (data === undefined) return undefined;
  if (data.type === 'string') return data.value;
  if (data.type === 'octets' && data.bytes.every((b) => b >= 0x20 && b < 0x7f)) return Buffer.from(data.bytes).toString('latin1');
  return undefined;
}

function identifier(object: CosemObject): string | undefined {
  const text = (object.text ?? (typeof object.value === 'string' && object.value !== '' ? object.value : undefined))?.trim();
  return text === '' ? undefined : text;
}

/** The maker a list id, device name or system title starts with. */
export function makerOf(names: ReadonlyArray<string | null | undefined>): string | null {
  for (const name of names) {
    if (name === null || name === undefined) continue;
    const prefix = MAKER_PREFIXES.find(([start]) => name.toUpperCase().startsWith(start));
    if (prefix !== undefined) return prefix[1];
  }
  return null;
}
