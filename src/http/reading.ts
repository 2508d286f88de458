import type { CosemObject, Telegram } from '../telegram/types.js';

/** What the status page needs from one telegram, in kW / kWh / m3 whatever unit the meter used. Pure. */
export interface MeterReading {
  /** Meter time (0-0:1.0.0) as ms since the epoch, else the receive time. */
  t: number;
  powerImportKw: number | null;
  powerExportKw: number | null;
  importT1: number | null;
  importT2: number | null;
  exportT1: number | null;
  exportT2: number | null;
  /** Gas meter reading (m3) and the time the gas meter took it (hourly or 5-minutely, not the telegram's time). */
  gasM3: number | null;
  gasTime: number | null;
  /** L1, L2, L3: power drawn and returned (kW), voltage (V), current (A); null where the meter sends none. */
  phases: PhaseReading[];
}

export interface PhaseReading {
  importKw: number | null;
  exportKw: number | null;
  voltage: number | null;
  current: number | null;
}

/** OBIS C codes of L1-L3: power imported, exported, voltage, current. */
const PHASES = [
  ['21', '22', '32', '31'],
  ['41', '42', '52', '51'],
  ['61', '62', '72', '71'],
] as const;

function plain(object: CosemObject | undefined): number | null {
  return object !== undefined && typeof object.value === 'number' ? object.value : null;
}

/** A numeric value in kW or kWh; meters such as Sagemcom's send W and Wh (divided, not multiplied by 0.001: exact). */
function scaled(object: CosemObject | undefined): number | null {
  if (object === undefined || typeof object.value !== 'number') return null;
  switch (object.unit) {
    case undefined:
    case 'kW':
    case 'kWh':
      return object.value;
    case 'W':
    case 'Wh':
      return object.value / 1000;
    case 'MW':
    case 'MWh':
      return object.value * 1000;
    default:
      return null;
  }
}

/** The M-Bus channel of a gas meter: device type 3, or (DSMR 2.2/3 without a type) a reading in m3. */
function gasOf(objects: Record<string, CosemObject>): { value: number; time: number | null } | null {
  for (let channel = 1; channel <= 4; channel++) {
    const type = objects[`0-${channel}:24.1.0`]?.value;
    if (type !== undefined && type !== 3) continue;
    for (const id of ['24.2.1', '24.2.3', '24.3.0']) {
      const object = objects[`0-${channel}:${id}`];
      // A meter without a gas meter sends a placeholder (value 0, no unit): not a reading.
      if (object === undefined || typeof object.value !== 'number' || object.unit !== 'm3') continue;
      const time = object.time == null ? null : Date.parse(object.time);
      return { value: object.value, time: Number.isNaN(time) ? null : time };
    }
  }
  return null;
}

export function readingOf(telegram: Telegram, receivedAt: Date | number): MeterReading {
  const o = telegram.objects;
  const meterTime = telegram.time === null ? Number.NaN : Date.parse(telegram.time);
  const gas = gasOf(o);
  return {
    t: Number.isNaN(meterTime) ? new Date(receivedAt).getTime() : meterTime,
    // Kamstrup's DLMS lists count on channel 1 (1-1:1.7.0).
    powerImportKw: scaled(o['1-0:1.7.0'] ?? o['1-1:1.7.0']),
    powerExportKw: scaled(o['1-0:2.7.0'] ?? o['1-1:2.7.0']),
    importT1: scaled(o['1-0:1.8.1']),
    importT2: scaled(o['1-0:1.8.2']),
    exportT1: scaled(o['1-0:2.8.1']),
    exportT2: scaled(o['1-0:2.8.2']),
    gasM3: gas?.value ?? null,
    gasTime: gas?.time ?? null,
    phases: PHASES.map(([imp, exp, volt, amp]) => ({
      importKw: scaled(o[`1-0:${imp}.7.0`]),
      exportKw: scaled(o[`1-0:${exp}.7.0`]),
      voltage: plain(o[`1-0:${volt}.7.0`]),
      current: plain(o[`1-0:${amp}.7.0`]),
    })),
  };
}
