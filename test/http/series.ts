import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { crc16 } from '../../src/telegram/crc16.js';

/**
 * Telegrams for the status page tests, written from the DSMR 5 fixture (test/fixtures/telegrams/V5.txt) with other
 * values and times and a fresh CRC, so they go through the real parser. The values are kept here in plain numbers,
 * so the tests compute expected figures themselves, not through the code under test.
 */
export interface Values {
  /** UTC ms; the telegram's meter time is this in Europe/Amsterdam winter time (January). */
  t: number;
  importT1: number;
  importT2: number;
  exportT1: number;
  exportT2: number;
  powerImport: number;
  powerExport: number;
  gas: number;
}

const template = readFileSync(fileURLToPath(new URL('../fixtures/telegrams/V5.txt', import.meta.url)), 'latin1');

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** YYMMDDhhmmssW in CET (+01:00): the series stays in January. */
function meterTime(utcMs: number): string {
  const d = new Date(utcMs + 3600_000);
  return `${pad(d.getUTCFullYear() % 100, 2)}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}W`;
}

function kwh(value: number): string {
  return value.toFixed(3).padStart(10, '0');
}

export function telegramFor(v: Values): string {
  const replace = (text: string, re: RegExp, value: string): string => {
    if (!re.test(text)) throw new Error(`template lacks ${String(re)}`);
    return text.replace(re, value);
  };
  let body = template.slice(0, template.indexOf('!') + 1);
  body = replace(body, /0-0:1\.0\.0\(\d{12}W\)/, `0-0:1.0.0(${meterTime(v.t)})`);
  body = replace(body, /1-0:1\.8\.1\([\d.]+\*kWh\)/, `1-0:1.8.1(${kwh(v.importT1)}*kWh)`);
  body = replace(body, /1-0:1\.8\.2\([\d.]+\*kWh\)/, `1-0:1.8.2(${kwh(v.importT2)}*kWh)`);
  body = replace(body, /1-0:2\.8\.1\([\d.]+\*kWh\)/, `1-0:2.8.1(${kwh(v.exportT1)}*kWh)`);
  body = replace(body, /1-0:2\.8\.2\([\d.]+\*kWh\)/, `1-0:2.8.2(${kwh(v.exportT2)}*kWh)`);
  body = replace(body, /1-0:1\.7\.0\([\d.]+\*kW\)/, `1-0:1.7.0(${v.powerImport.toFixed(3).padStart(6, '0')}*kW)`);
  body = replace(body, /1-0:2\.7\.0\([\d.]+\*kW\)/, `1-0:2.7.0(${v.powerExport.toFixed(3).padStart(6, '0')}*kW)`);
  body = replace(body, /0-1:24\.2\.1\(\d{12}W\)\([\d.]+\*m3\)/, `0-1:24.2.1(${meterTime(v.t)})(${v.gas.toFixed(3).padStart(9, '0')}*m3)`);
  const crc = crc16(Buffer.from(body, 'latin1')).toString(16).toUpperCase().padStart(4, '0');
  return `${body}${crc}\r\n`;
}

/** Meter resolution: 3 decimals. */
function r3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** "Now" of the tests: Wednesday 15 January 2025, 13:00 in Amsterdam. */
export const NOW = Date.parse('2025-01-15T12:00:00Z');
export const MONTH_START = Date.parse('2025-01-01T00:00:00+01:00');
export const DAY_START = Date.parse('2025-01-15T00:00:00+01:00');

/**
 * A reading 10 s before the month starts, one 10 s before the day starts, then one every 10 s over the last hour.
 * Counters only grow; power follows a wave with some export.
 */
export function series(): Values[] {
  const out: Values[] = [
    { t: MONTH_START - 10_000, importT1: 1000, importT2: 2000, exportT1: 100, exportT2: 200, powerImport: 0.3, powerExport: 0, gas: 500 },
    { t: DAY_START - 10_000, importT1: 1101.25, importT2: 2042.5, exportT1: 103.125, exportT2: 210.5, powerImport: 0.2, powerExport: 0, gas: 540.375 },
  ];
  const first = NOW - 3600_000;
  for (let i = 0; i <= 360; i++) {
    out.push({
      t: first + i * 10_000,
      importT1: r3(1102 + i * 0.001),
      importT2: 2045.5,
      exportT1: r3(103.5 + Math.floor(i / 2) * 0.001),
      exportT2: 211,
      powerImport: Math.round((0.6 + 0.4 * Math.sin(i / 20)) * 1000) / 1000,
      powerExport: i % 60 < 20 ? 0.15 : 0,
      gas: r3(541 + Math.floor(i / 30) * 0.01),
    });
  }
  return out;
}
