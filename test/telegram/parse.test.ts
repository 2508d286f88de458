import { describe, expect, it } from 'vitest';
import { parseTelegram, decodeHexText } from '../../src/telegram/parse.js';

const telegram = (...lines: string[]): string => `${lines.join('\r\n')}\r\n`;

describe('parseTelegram', () => {
  it('keeps unknown OBIS lines with their raw text and parses their common shapes', () => {
    const t = parseTelegram(
      telegram('/XMX5TEST', '', '1-0:1.8.1(000001.000*kWh)', '1-0:99.1.0(42)', '1-0:13.7.0(0.998)', '0-0:99.9.9(230101120000W)(5.5*m3)', '!'),
    );
    expect(t.objects['1-0:99.1.0']).toEqual({ value: '42', raw: '1-0:99.1.0(42)' });
    expect(t.objects['1-0:13.7.0']).toEqual({ value: 0.998 });
    expect(t.objects['0-0:99.9.9']).toEqual({
      value: 5.5,
      unit: 'm3',
      time: '2023-01-01T12:00:00+01:00',
      raw: '0-0:99.9.9(230101120000W)(5.5*m3)',
    });
  });

  it('reports a malformed line with its number and text, and parses the rest', () => {
    const t = parseTelegram(
      telegram('/XMX5TEST', '', '1-0:1.8.1(000001.000*kWh)', '1-0:1.8.2(00x2.000*kWh)', 'garbage line', '1-0:1.7.0(01.500*kW', '1-0:2.8.1(000003.000*kWh)', '!'),
    );
    expect(t.objects['1-0:1.8.1']?.value).toBe(1);
    expect(t.objects['1-0:2.8.1']?.value).toBe(3);
    expect(t.objects['1-0:1.8.2']).toBeUndefined();
    expect(t.errors).toEqual([
      { line: 4, text: '1-0:1.8.2(00x2.000*kWh)', reason: '"00x2.000" is not a number' },
      { line: 5, text: 'garbage line', reason: 'expected OBIS-REFERENCE(value)' },
      { line: 6, text: '1-0:1.7.0(01.500*kW', reason: 'missing ")"' },
    ]);
  });

  it('reports a failure log whose count does not match its entries', () => {
    const t = parseTelegram(telegram('/X', '', '1-0:99.97.0(2)(0-0:96.7.19)(000104180320W)(0000237126*s)', '!'));
    expect(t.errors?.[0]).toMatchObject({ line: 3, reason: 'failure log: 2 entries announced, 1 sent' });
  });

  it('takes the DSMR 2.2/3 gas value from a seventh group when a meter sends it on the same line', () => {
    const t = parseTelegram(telegram('/X', '', '0-1:24.3.0(120531230000)(08)(60)(1)(0-1:24.2.1)(m3)(00752.852)', '!'));
    expect(t.objects['0-1:24.3.0']).toEqual({ value: 752.852, unit: 'm3', time: '2012-05-31T23:00:00+02:00' });
  });

  it('uses Europe/Brussels for Belgian (Fluvius) meters and an explicit zone when given', () => {
    const gas = '0-1:24.3.0(240101120000)(00)(60)(1)(0-1:24.2.1)(m3)';
    expect(parseTelegram(telegram('/FLU5X', '', gas, '(1.0)', '!')).objects['0-1:24.3.0']?.time).toBe('2024-01-01T12:00:00+01:00');
    expect(parseTelegram(telegram('/X', '', gas, '(1.0)', '!'), { timeZone: 'Europe/London' }).objects['0-1:24.3.0']?.time).toBe(
      '2024-01-01T12:00:00+00:00',
    );
  });

  it('reads lower-case season flags in meter and M-Bus times (Landis+Gyr E350), known references and unknown', () => {
    const t = parseTelegram(
      telegram('/XMX5TEST', '', '0-0:1.0.0(150701192959s)', '0-1:24.2.1(150701190000s)(00845.206*m3)', '0-0:99.9.9(151201120000w)(5.5*m3)', '!'),
    );
    expect(t.time).toBe('2015-07-01T19:29:59+02:00');
    expect(t.objects['0-1:24.2.1']).toEqual({ value: 845.206, unit: 'm3', time: '2015-07-01T19:00:00+02:00' });
    expect(t.objects['0-0:99.9.9']).toMatchObject({ value: 5.5, unit: 'm3', time: '2015-12-01T12:00:00+01:00' });
    expect(t.errors).toBeUndefined();
  });

  it('accepts LF-only line ends (captures converted by editors)', () => {
    const t = parseTelegram('/X\n\n1-0:1.8.1(000001.000*kWh)\n!\n');
    expect(t.objects['1-0:1.8.1']?.value).toBe(1);
  });

  it('decodes hex text only when every byte is printable', () => {
    expect(decodeHexText('48656C6C6F')).toBe('Hello');
    expect(decodeHexText('48656C6C6')).toBeNull();
    expect(decodeHexText('0048')).toBeNull();
    expect(decodeHexText('4G')).toBeNull();
    expect(decodeHexText('')).toBeNull();
  });
});
