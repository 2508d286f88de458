/**
 * What meters leave out of their lists, as data: the OBIS codes of positional lists (by length and first
 * element) and the scaler and unit of values sent without one. Sources: the Norwegian HAN-NVE descriptions of
 * Kaifa, Kamstrup and Aidon, the Slovenian/Austrian Iskra lists, Landis+Gyr's E450 push lists, and the captures
 * in test/fixtures/dlms (which pin every row below).
 */

/** Scaler (power of ten) and unit of a value the meter sends bare, by the C.D groups of its OBIS code. */
export type ImpliedUnits = Readonly<Record<string, readonly [scaler: number, unit: string]>>;

const POWER = { '1.7': [0, 'W'], '2.7': [0, 'W'], '3.7': [0, 'var'], '4.7': [0, 'var'] } as const;
const PHASE_POWER = {
  '21.7': [0, 'W'], '22.7': [0, 'W'], '41.7': [0, 'W'], '42.7': [0, 'W'], '61.7': [0, 'W'], '62.7': [0, 'W'],
  '23.7': [0, 'var'], '24.7': [0, 'var'], '43.7': [0, 'var'], '44.7': [0, 'var'], '63.7': [0, 'var'], '64.7': [0, 'var'],
} as const;
const ENERGY_WH = {
  '1.8': [0, 'Wh'], '2.8': [0, 'Wh'], '3.8': [0, 'varh'], '4.8': [0, 'varh'],
  '5.8': [0, 'varh'], '6.8': [0, 'varh'], '7.8': [0, 'varh'], '8.8': [0, 'varh'],
} as const;

function phases(c: readonly [string, string, string], scaler: number, unit: string): ImpliedUnits {
  return Object.fromEntries(c.map((group) => [group, [scaler, unit] as const]));
}
const CURRENTS = ['31.7', '51.7', '71.7'] as const;
const VOLTAGES = ['32.7', '52.7', '72.7'] as const;

/** Kaifa (Norway, Sweden): current in mA, voltage in 0.1 V, energy in Wh. */
const KAIFA: ImpliedUnits = { ...POWER, ...phases(CURRENTS, -3, 'A'), ...phases(VOLTAGES, -1, 'V'), ...ENERGY_WH };
/** Kamstrup Omnipower (Norway, Denmark, Switzerland): current in 0.01 A, whole volts, energy in 10 Wh. */
const KAMSTRUP: ImpliedUnits = {
  ...POWER,
  ...phases(CURRENTS, -2, 'A'),
  ...phases(VOLTAGES, 0, 'V'),
  '1.8': [1, 'Wh'], '2.8': [1, 'Wh'], '3.8': [1, 'varh'], '4.8': [1, 'varh'],
};
/** Swedish Kamstrup units count energy in Wh (amsreader-firmware #239, #874). */
const KAMSTRUP_SWEDEN: ImpliedUnits = { ...KAMSTRUP, ...ENERGY_WH };
/** Iskra AM550 (Slovenia's ECE lists, Austria): 0.1 V, 0.01 A, W, Wh. */
const ISKRA: ImpliedUnits = { ...POWER, ...PHASE_POWER, ...phases(CURRENTS, -2, 'A'), ...phases(VOLTAGES, -1, 'V'), ...ENERGY_WH };
/** Landis+Gyr E450 (Switzerland, Austria): 0.01 A, whole volts, W, Wh. */
const LANDIS_GYR: ImpliedUnits = { ...POWER, ...PHASE_POWER, ...phases(CURRENTS, -2, 'A'), ...phases(VOLTAGES, 0, 'V'), ...ENERGY_WH };

/** Lists that pair OBIS codes with bare values: their implied units, by the list id the meter sends. */
export interface ObisListUnits {
  list: string;
  maker: string;
  units: ImpliedUnits;
  /** Variants told apart by the meter type (its 96.1.1 / 96.1.7 value), first match wins. */
  variants?: ReadonlyArray<{ meterType: RegExp; units: ImpliedUnits; why: string }>;
}

export const OBIS_LIST_UNITS: readonly ObisListUnits[] = [
  {
    list: 'Kamstrup_V0001',
    maker: 'Kamstrup',
    units: KAMSTRUP,
    // The type number's country digits: 245 is the Swedish variant.
    variants: [{ meterType: /^\d{7}[A-Z]{2}245/, units: KAMSTRUP_SWEDEN, why: 'Swedish Omnipower (type ...BN245...) counts Wh' }],
  },
  { list: 'KFM_001', maker: 'Kaifa', units: KAIFA },
];

/** How a positional list is recognised: its length, and what its first element is. */
export type FirstElement =
  | { kind: 'text'; text: string }
  | { kind: 'octets'; length: number; prefix?: string }
  | { kind: 'hex'; hex: string }
  | { kind: 'number' };

export interface PositionalLayout {
  name: string;
  maker: string;
  /** Elements the list announces. */
  count: number;
  first: FirstElement;
  /** The OBIS reference of each element in order; null for one the meter leaves unnamed (list ids, dates). */
  elements: readonly (string | null)[];
  units: ImpliedUnits;
  /** The element that holds the meter's serial number when no element is a named id. */
  meterAt?: number;
}

const KAIFA_LIST_2_ONE_PHASE = ['1-0:0.2.129', '0-0:96.1.0', '0-0:96.1.7', '1-0:1.7.0', '1-0:2.7.0', '1-0:3.7.0', '1-0:4.7.0', '1-0:31.7.0', '1-0:32.7.0'];
const KAIFA_LIST_2_THREE_PHASE = [
  '1-0:0.2.129', '0-0:96.1.0', '0-0:96.1.7', '1-0:1.7.0', '1-0:2.7.0', '1-0:3.7.0', '1-0:4.7.0',
  '1-0:31.7.0', '1-0:51.7.0', '1-0:71.7.0', '1-0:32.7.0', '1-0:52.7.0', '1-0:72.7.0',
];
/** List 3 is list 2 plus the hour's clock and energy registers. */
const HOURLY = ['0-0:1.0.0', '1-0:1.8.0', '1-0:2.8.0', '1-0:3.8.0', '1-0:4.8.0'];
const KFM: FirstElement = { kind: 'text', text: 'KFM_001' };

export const POSITIONAL_LAYOUTS: readonly PositionalLayout[] = [
  { name: 'kaifa-list-1', maker: 'Kaifa', count: 1, first: { kind: 'number' }, elements: ['1-0:1.7.0'], units: KAIFA },
  { name: 'kaifa-list-2-1p', maker: 'Kaifa', count: 9, first: KFM, elements: KAIFA_LIST_2_ONE_PHASE, units: KAIFA },
  { name: 'kaifa-list-2-3p', maker: 'Kaifa', count: 13, first: KFM, elements: KAIFA_LIST_2_THREE_PHASE, units: KAIFA },
  { name: 'kaifa-list-3-1p', maker: 'Kaifa', count: 14, first: KFM, elements: [...KAIFA_LIST_2_ONE_PHASE, ...HOURLY], units: KAIFA },
  { name: 'kaifa-list-3-3p', maker: 'Kaifa', count: 18, first: KFM, elements: [...KAIFA_LIST_2_THREE_PHASE, ...HOURLY], units: KAIFA },
  {
    // Slovenia (Elektro Ljubljana etc.), every second: the logical device name first.
    name: 'iskra-ece-list-1',
    maker: 'Iskra',
    count: 18,
    first: { kind: 'octets', length: 16 },
    elements: [
      '0-0:42.0.0', '0-0:96.1.2', '1-0:1.7.0', '1-0:2.7.0', '1-0:3.7.0', '1-0:4.7.0',
      '1-0:32.7.0', '1-0:52.7.0', '1-0:72.7.0', '1-0:31.7.0', '1-0:51.7.0', '1-0:71.7.0',
      '1-0:21.7.0', '1-0:41.7.0', '1-0:61.7.0', '1-0:22.7.0', '1-0:42.7.0', '1-0:62.7.0',
    ],
    units: ISKRA,
  },
  {
    // Slovenia, every 15 minutes: tariff and energy registers.
    name: 'iskra-ece-list-2',
    maker: 'Iskra',
    count: 12,
    first: { kind: 'octets', length: 16 },
    elements: [
      '0-0:42.0.0', '0-0:96.1.3', '0-0:96.3.10', '0-0:96.14.0', '1-0:1.8.0', '1-0:1.8.1',
      '1-0:1.8.2', '1-0:2.8.0', '1-0:2.8.1', '1-0:2.8.2', '1-0:3.8.0', '1-0:4.8.0',
    ],
    units: ISKRA,
  },
  {
    // Austria (KELAG / Kaernten Netz): push setup name, serial, time, date, then the registers.
    name: 'iskra-list',
    maker: 'Iskra',
    count: 12,
    first: { kind: 'hex', hex: '0006190900ff' },
    elements: [null, null, null, null, '1-0:1.8.0', '1-0:2.8.0', '1-0:3.8.0', '1-0:4.8.0', '1-0:1.7.0', '1-0:2.7.0', null, null],
    units: ISKRA,
    meterAt: 1,
  },
  {
    // Austria (Netz Burgenland): voltages, currents, power, energy, three unnamed values, the meter number.
    name: 'landis-gyr-e450-list',
    maker: 'Landis+Gyr',
    count: 14,
    first: { kind: 'number' },
    elements: [
      '1-0:32.7.0', '1-0:52.7.0', '1-0:72.7.0', '1-0:31.7.0', '1-0:51.7.0', '1-0:71.7.0',
      '1-0:1.7.0', '1-0:2.7.0', '1-0:1.8.0', '1-0:2.8.0', null, null, null, '0-0:96.1.0',
    ],
    units: LANDIS_GYR,
  },
];

/** Units of values in lists that describe their capture objects (Landis+Gyr E450 pushes) and send no scalers. */
export const DESCRIBED_LIST_UNITS: ImpliedUnits = LANDIS_GYR;

/** Makers by how their list ids, device names and system titles start (upper case). */
export const MAKER_PREFIXES: ReadonlyArray<readonly [prefix: string, maker: string]> = [
  ['AIDON', 'Aidon'],
  ['KFM', 'Kaifa'],
  ['KAMSTRUP', 'Kamstrup'],
  ['KAM', 'Kamstrup'],
  ['ISK', 'Iskra'],
  ['LGZ', 'Landis+Gyr'],
  ['SAG', 'Sagemcom'],
];
