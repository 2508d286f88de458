import { dataNotification, encodeData, obisOctets, type EncodableData } from '../frames/dlms/encode.js';
import { encryptGlo, type DlmsKeys } from '../frames/gcm.js';
import { buildHdlcFrame, LLC_HEADER } from '../frames/hdlc.js';
import type { MeterReading } from './virtual-meter.js';

/**
 * The virtual meter's readings as the HAN ports of Nordic meters push them, for `simulate?protocol=dlms` and
 * tests: each maker's list 2 (power, voltages, currents) and, on the hour, list 3 (with the clock and the energy
 * registers), in HDLC frames. Pure: a reading and a time in, bytes out.
 */
export type HanMaker = 'kamstrup' | 'aidon' | 'kaifa';

interface Quantities {
  importW: number;
  exportW: number;
  currents: number[];
  voltages: number[];
  importWh: number;
  exportWh: number;
}

function quantities(reading: MeterReading): Quantities {
  return {
    importW: Math.round(reading.powerImportW),
    exportW: Math.round(reading.powerExportW),
    currents: reading.phaseNetW.map((w, p) => Math.abs(w) / reading.voltagesV[p]!),
    voltages: reading.voltagesV,
    importWh: Math.round((reading.importT1 + reading.importT2) * 1000),
    exportWh: Math.round((reading.exportT1 + reading.exportT2) * 1000),
  };
}

/** The COSEM date-time of a local wall-clock time, deviation left unspecified (as Kamstrup and Kaifa send it). */
export function cosemDateTime(localMs: number): Buffer {
  const d = new Date(localMs);
  const out = Buffer.alloc(12);
  out.writeUInt16BE(d.getUTCFullYear(), 0);
  out[2] = d.getUTCMonth() + 1;
  out[3] = d.getUTCDate();
  out[4] = ((d.getUTCDay() + 6) % 7) + 1;
  out[5] = d.getUTCHours();
  out[6] = d.getUTCMinutes();
  out[7] = d.getUTCSeconds();
  out[8] = 0xff;
  out.writeUInt16BE(0x8000, 9);
  out[11] = 0x00;
  return out;
}

const u32 = (n: number): EncodableData => ({ uint32: Math.max(0, Math.min(0xffffffff, Math.round(n))) });
const u16 = (n: number): EncodableData => ({ uint16: Math.max(0, Math.min(0xffff, Math.round(n))) });
const octets = (text: string): EncodableData => ({ octets: Buffer.from(text, 'latin1') });
const obis = (reference: string): EncodableData => ({ octets: obisOctets(reference) });

/** Kamstrup_V0001: list id, then OBIS/value pairs on channel 1 without scalers (0.01 A, 1 V, 10 Wh). */
function kamstrup(q: Quantities, id: string, clock: Buffer, hourly: boolean): EncodableData[] {
  const pair = (reference: string, value: EncodableData): EncodableData[] => [obis(reference), value];
  const items: EncodableData[] = [
    { visible: 'Kamstrup_V0001' },
    ...pair('1-1:0.0.5', octets(id)),
    ...pair('1-1:96.1.1', octets('6841121BN243101040')),
    ...pair('1-1:1.7.0', u32(q.importW)),
    ...pair('1-1:2.7.0', u32(q.exportW)),
    ...['1-1:31.7.0', '1-1:51.7.0', '1-1:71.7.0'].flatMap((r, p) => pair(r, u32(q.currents[p]! * 100))),
    ...['1-1:32.7.0', '1-1:52.7.0', '1-1:72.7.0'].flatMap((r, p) => pair(r, u16(q.voltages[p]!))),
  ];
  if (hourly) items.push(...pair('0-1:1.0.0', { octets: clock }), ...pair('1-1:1.8.0', u32(q.importWh / 10)), ...pair('1-1:2.8.0', u32(q.exportWh / 10)));
  return items;
}

/** AIDON_V0001: an array of structures (OBIS, value, {scaler, unit}). */
function aidon(q: Quantities, id: string, clock: Buffer, hourly: boolean): EncodableData[] {
  const item = (reference: string, value: EncodableData, scaler?: number, unit?: number): EncodableData => ({
    structure: scaler === undefined ? [obis(reference), value] : [obis(reference), value, { structure: [{ int8: scaler }, { enum: unit! }] }],
  });
  const items: EncodableData[] = [
    item('1-1:0.2.129', { visible: 'AIDON_V0001' }),
    item('0-0:96.1.0', { visible: id }),
    item('0-0:96.1.7', { visible: '6534' }),
    item('1-0:1.7.0', u32(q.importW), 0, 27),
    item('1-0:2.7.0', u32(q.exportW), 0, 27),
    ...['1-0:31.7.0', '1-0:51.7.0', '1-0:71.7.0'].map((r, p) => item(r, { int16: Math.round(q.currents[p]! * 10) }, -1, 33)),
    ...['1-0:32.7.0', '1-0:52.7.0', '1-0:72.7.0'].map((r, p) => item(r, u16(q.voltages[p]! * 10), -1, 35)),
  ];
  if (hourly) items.push(item('0-0:1.0.0', { octets: clock }), item('1-0:1.8.0', u32(q.importWh / 10), 1, 30), item('1-0:2.8.0', u32(q.exportWh / 10), 1, 30));
  return [{ array: items }];
}

/** KFM_001 list 2/3 (three-phase): positional, no OBIS codes, mA and 0.1 V. */
function kaifa(q: Quantities, id: string, clock: Buffer, hourly: boolean): EncodableData[] {
  const items: EncodableData[] = [
    octets('KFM_001'),
    octets(id),
    octets('MA304H4'),
    u32(q.importW),
    u32(q.exportW),
    u32(0),
    u32(0),
    ...q.currents.map((a) => u32(a * 1000)),
    ...q.voltages.map((v) => u32(v * 10)),
  ];
  if (hourly) items.push({ octets: clock }, u32(q.importWh), u32(q.exportWh), u32(0), u32(0));
  return items;
}

const LISTS: Record<HanMaker, (q: Quantities, id: string, clock: Buffer, hourly: boolean) => EncodableData[]> = { kamstrup, aidon, kaifa };
const ID_PREFIX: Record<HanMaker, string> = { kamstrup: '57065670', aidon: '73599928', kaifa: '69706314' };

export interface HanFrameOptions {
  maker: HanMaker;
  /** Local wall-clock time of the push, as ms (the meter's clock, whose UTC offset it does not send). */
  localMs: number;
  /** The meter's id digits after its maker's prefix. */
  serial: number;
  /** The hourly list 3 (clock and energy registers) instead of list 2. */
  hourly: boolean;
}

/** The data-notification APDU a HAN meter pushes for `reading`. */
export function hanNotification(reading: MeterReading, options: HanFrameOptions): Buffer {
  const clock = cosemDateTime(options.localMs);
  const id = `${ID_PREFIX[options.maker]}${String(options.serial % 100_000_000).padStart(8, '0')}`;
  const items = LISTS[options.maker](quantities(reading), id, clock, options.hourly);
  const body = encodeData({ structure: items });
  // Aidon's notifications carry no date-time of their own (the clock is in list 3); the others' do.
  return dataNotification(0x40000000, options.maker === 'aidon' ? null : clock, options.maker === 'aidon' ? encodeData(items[0]!) : body);
}

/** The APDU in HDLC frames, as the HAN port sends it; ciphered first when `keys` are given. */
export function hanFrame(apdu: Uint8Array, keys?: DlmsKeys, frameCounter = 1): Buffer {
  const payload = keys === undefined ? apdu : encryptGlo(apdu, keys, Buffer.from('KAM00001', 'latin1'), frameCounter);
  return buildHdlcFrame(Buffer.concat([LLC_HEADER, payload]), { destination: 0x10, source: 0x01 });
}
