import type { QueueRecord } from '../queue/types.js';
import { ELECTRICITY_FIELD_NAMES, mapRecord, newMappedTelegram, type MappedTelegram, type Point } from '../sinks/points.js';
import type { ParseOptions } from '../telegram/types.js';

/** What the history takes from one telegram: its points, reduced to what hour rows are made of. */
export interface HistorySample {
  /** The electricity point's time (meter time, else receive time), epoch ms. */
  time: number;
  /** Equipment id: a different meter is a counter reset, not use. */
  meter: string | undefined;
  /** Counters, kWh; a meter that sends only totals (1.8.0 / 2.8.0) has them as T1. null when not sent. */
  importT1: number | null;
  importT2: number | null;
  exportT1: number | null;
  exportT2: number | null;
  /** kW. */
  powerImport: number | null;
  powerExport: number | null;
  /** Per phase L1-L3. */
  current: [number | null, number | null, number | null];
  voltage: [number | null, number | null, number | null];
  /** Each M-Bus device's reading with its own time. */
  devices: DeviceReading[];
}

export type DeviceKind = Exclude<Point['measurement'], 'electricity'>;

export interface DeviceReading {
  /** `gas:1:G0051...`: kind, channel and device id (a replaced gas meter is a new device). */
  key: string;
  kind: DeviceKind;
  channel: string;
  meter: string | undefined;
  value: number;
  time: number;
}

const FIELD = (name: string): number => {
  const id = ELECTRICITY_FIELD_NAMES.indexOf(name);
  if (id === -1) throw new Error(`no electricity field ${name}`);
  return id;
};
const IDS = {
  importT1: FIELD('import_t1'),
  importT2: FIELD('import_t2'),
  importTotal: FIELD('import_total'),
  exportT1: FIELD('export_t1'),
  exportT2: FIELD('export_t2'),
  exportTotal: FIELD('export_total'),
  powerImport: FIELD('power_import'),
  powerExport: FIELD('power_export'),
  current: [FIELD('current_l1'), FIELD('current_l2'), FIELD('current_l3')],
  voltage: [FIELD('voltage_l1'), FIELD('voltage_l2'), FIELD('voltage_l3')],
};

/** Field values by id of the mapped telegram (NaN: not sent). */
const values = new Float64Array(ELECTRICITY_FIELD_NAMES.length);

function get(id: number): number | null {
  const v = values[id]!;
  return Number.isNaN(v) ? null : v;
}

/**
 * A telegram's points -> a sample. Works from the points every sink receives, so any protocol that maps to the
 * same electricity fields (DLMS meters, later) gets the same history. Pure. undefined: no time at all.
 */
export function sampleOf(mapped: MappedTelegram, receivedAtMs: number): HistorySample | undefined {
  values.fill(Number.NaN);
  for (let i = 0; i < mapped.fieldCount; i++) values[mapped.fieldIds[i]!] = mapped.fieldValues[i]!;
  const time = mapped.time ?? receivedAtMs;
  if (!Number.isFinite(time)) return undefined;
  const hasTariffs = get(IDS.importT1) !== null || get(IDS.importT2) !== null;
  const hasExportTariffs = get(IDS.exportT1) !== null || get(IDS.exportT2) !== null;
  const devices: DeviceReading[] = [];
  for (const point of mapped.extra) {
    if (point.measurement === 'electricity') continue;
    const value = point.fields.value;
    if (value === undefined) continue;
    const channel = point.tags.channel ?? '?';
    const meter = point.tags.meter;
    devices.push({ key: `${point.measurement}:${channel}:${meter ?? ''}`, kind: point.measurement, channel, meter, value, time: point.time });
  }
  return {
    time,
    meter: mapped.meter,
    importT1: hasTariffs ? get(IDS.importT1) : get(IDS.importTotal),
    importT2: hasTariffs ? get(IDS.importT2) : null,
    exportT1: hasExportTariffs ? get(IDS.exportT1) : get(IDS.exportTotal),
    exportT2: hasExportTariffs ? get(IDS.exportT2) : null,
    powerImport: get(IDS.powerImport),
    powerExport: get(IDS.powerExport),
    current: [get(IDS.current[0]!), get(IDS.current[1]!), get(IDS.current[2]!)],
    voltage: [get(IDS.voltage[0]!), get(IDS.voltage[1]!), get(IDS.voltage[2]!)],
    devices,
  };
}

const scratch = newMappedTelegram();

/** A stored record -> its sample: the raw text is parsed again, as everywhere (a parser fix applies to history). */
export function sampleOfRecord(record: QueueRecord, options: ParseOptions = {}): HistorySample | undefined {
  const receivedAtMs = Date.parse(record.receivedAt);
  try {
    return sampleOf(mapRecord(record, options, scratch), receivedAtMs);
  } catch {
    return undefined;
  }
}
