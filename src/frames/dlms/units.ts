/** COSEM unit enumeration (IEC 62056-6-2, scaler_unit) -> the unit as p1logger writes it; the ones meters use. */
const UNITS: Readonly<Record<number, string>> = {
  1: 'a',
  2: 'mo',
  3: 'wk',
  4: 'd',
  5: 'h',
  6: 'min',
  7: 's',
  8: '°',
  9: '°C',
  13: 'm3',
  14: 'm3',
  15: 'm3/h',
  16: 'm3/h',
  19: 'l',
  20: 'kg',
  23: 'Pa',
  24: 'bar',
  25: 'J',
  27: 'W',
  28: 'VA',
  29: 'var',
  30: 'Wh',
  31: 'VAh',
  32: 'varh',
  33: 'A',
  34: 'C',
  35: 'V',
  44: 'Hz',
  52: 'K',
  56: '%',
  57: 'Ah',
};

/** The unit's name; undefined for "count" (255), "other" and codes meters do not send. */
export function unitName(code: number): string | undefined {
  return UNITS[code];
}
