import { describe, expect, it } from 'vitest';
import { isP1Error } from '../../src/errors.js';
import { describeSpec, parseSourceSpec, type SourceSpec } from '../../src/sources/spec.js';

describe('parseSourceSpec', () => {
  const good: [string, SourceSpec][] = [
    ['serial:/dev/ttyUSB0', { kind: 'serial', path: '/dev/ttyUSB0', settings: 'auto', protocol: 'auto', request: 'dtr' }],
    [
      'serial:/dev/ttyUSB0?dsmr=2.2',
      { kind: 'serial', path: '/dev/ttyUSB0', settings: { baudRate: 9600, dataBits: 7, parity: 'even', stopBits: 1 }, protocol: 'dsmr', request: 'dtr' },
    ],
    [
      'serial:/dev/ttyUSB0?dsmr=3&request=rts',
      { kind: 'serial', path: '/dev/ttyUSB0', settings: { baudRate: 9600, dataBits: 7, parity: 'even', stopBits: 1 }, protocol: 'dsmr', request: 'rts' },
    ],
    [
      'serial:/dev/ttyAMA0?dsmr=4',
      { kind: 'serial', path: '/dev/ttyAMA0', settings: { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 }, protocol: 'dsmr', request: 'dtr' },
    ],
    [
      'serial:/dev/ttyUSB1?dsmr=5&request=none',
      { kind: 'serial', path: '/dev/ttyUSB1', settings: { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 }, protocol: 'dsmr', request: 'none' },
    ],
    // Explicit settings override the preset field by field, and switch auto-detection off.
    [
      'serial:/dev/ttyUSB0?dsmr=2.2&baud=115200',
      { kind: 'serial', path: '/dev/ttyUSB0', settings: { baudRate: 115200, dataBits: 7, parity: 'even', stopBits: 1 }, protocol: 'dsmr', request: 'dtr' },
    ],
    [
      'serial:/dev/ttyUSB0?baud=9600&bits=7&parity=even&stop=2',
      { kind: 'serial', path: '/dev/ttyUSB0', settings: { baudRate: 9600, dataBits: 7, parity: 'even', stopBits: 2 }, protocol: 'auto', request: 'dtr' },
    ],
    [
      'serial:/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10KZ1-if00-port0',
      { kind: 'serial', path: '/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10KZ1-if00-port0', settings: 'auto', protocol: 'auto', request: 'dtr' },
    ],
    // HAN adapters: protocol=dlms tries 2400 8E1 and 8N1; with line settings, they start from 2400 8E1.
    ['serial:/dev/ttyUSB0?protocol=dlms', { kind: 'serial', path: '/dev/ttyUSB0', settings: 'auto', protocol: 'dlms', request: 'dtr' }],
    [
      'serial:/dev/ttyUSB0?protocol=dlms&parity=none',
      { kind: 'serial', path: '/dev/ttyUSB0', settings: { baudRate: 2400, dataBits: 8, parity: 'none', stopBits: 1 }, protocol: 'dlms', request: 'dtr' },
    ],
    ['tcp:192.168.1.20:2000', { kind: 'tcp', host: '192.168.1.20', port: 2000 }],
    ['tcp:p1-dongle.local:23', { kind: 'tcp', host: 'p1-dongle.local', port: 23 }],
    ['tcp:[::1]:8888', { kind: 'tcp', host: '::1', port: 8888 }],
    ['file:capture.txt', { kind: 'file', path: 'capture.txt', rate: 'fast' }],
    ['file:/var/log/p1.txt?rate=realtime', { kind: 'file', path: '/var/log/p1.txt', rate: 'realtime' }],
    ['simulate', { kind: 'simulate', protocol: 'dsmr', dsmr: '5', intervalS: 1 }],
    ['simulate?dsmr=2.2', { kind: 'simulate', protocol: 'dsmr', dsmr: '2.2', intervalS: 10 }],
    ['simulate?dsmr=5&interval=0.2&seed=42', { kind: 'simulate', protocol: 'dsmr', dsmr: '5', intervalS: 0.2, seed: 42 }],
    ['simulate?protocol=dlms&meter=aidon', { kind: 'simulate', protocol: 'dlms', dsmr: '5', meter: 'aidon', intervalS: 10 }],
    ['simulate?protocol=smarty', { kind: 'simulate', protocol: 'smarty', dsmr: '5', intervalS: 10 }],
  ];
  it.each(good)('%s', (text, expected) => {
    expect(parseSourceSpec(text)).toEqual(expected);
  });

  const bad: [string, RegExp][] = [
    ['/dev/ttyUSB0', /unknown kind.*write serial:\/dev\/ttyUSB0/],
    ['usb:/dev/ttyUSB0', /unknown kind "usb".*serial:\/dev\/ttyUSB0.*tcp:HOST:PORT/],
    ['serial:', /serial device path is missing/],
    ['serial:/dev/ttyUSB0?baud=12345', /baud "12345" is not allowed; use one of .*9600.*115200/],
    ['serial:/dev/ttyUSB0?bits=9', /bits "9" is not allowed; use 7 or 8/],
    ['serial:/dev/ttyUSB0?parity=mark', /parity "mark" is not allowed; use none or even or odd/],
    ['serial:/dev/ttyUSB0?stop=3', /stop "3" is not allowed/],
    ['serial:/dev/ttyUSB0?dsmr=6', /dsmr "6" is not allowed; use auto or 2.2 or 3 or 3.0 or 4 or 4.0 or 4.2 or 5 or 5.0/],
    ['serial:/dev/ttyUSB0?request=cts', /request "cts" is not allowed; use dtr or rts or none/],
    ['serial:/dev/ttyUSB0?speed=9600', /unknown parameter "speed"; allowed: protocol, dsmr, baud, bits, parity, stop, request/],
    ['serial:/dev/ttyUSB0?protocol=dlms&dsmr=5', /contradict/],
    ['serial:/dev/ttyUSB0?baud=9600&baud=115200', /"baud" is given twice/],
    ['serial:/dev/ttyUSB0?baud=', /"baud" has no value/],
    ['tcp:host', /expected tcp:HOST:PORT/],
    ['tcp::2000', /host is missing/],
    ['tcp:host:99999', /port "99999" is not a TCP port/],
    ['tcp:host:port', /port "port" is not a TCP port/],
    ['tcp:::1:2000', /IPv6 host is written \[ADDRESS\]:PORT/],
    ['tcp:host:2000?x=1', /take no parameters/],
    ['file:', /file path is missing/],
    ['file:x.txt?rate=slow', /rate "slow" is not allowed; use fast or realtime/],
    ['simulate?dsmr=4', /dsmr "4" is not allowed; use 5 or 5.0 or 2.2/],
    ['simulate?interval=0', /interval "0" is not allowed/],
    ['simulate?interval=abc', /interval "abc" is not allowed/],
    ['simulate?seed=-1', /seed "-1" is not allowed/],
    ['simulatex', /unknown kind "simulatex"/],
  ];
  it.each(bad)('rejects %s', (text, message) => {
    let caught: unknown;
    try {
      parseSourceSpec(text);
    } catch (error) {
      caught = error;
    }
    expect(isP1Error(caught, 'P1_SOURCE_SPEC')).toBe(true);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).toContain(`"${text}"`);
  });

  it('describes a spec in canonical form', () => {
    expect(describeSpec(parseSourceSpec('tcp:[::1]:8888'))).toBe('tcp:[::1]:8888');
    expect(describeSpec(parseSourceSpec('simulate?dsmr=2.2'))).toBe('simulate?dsmr=2.2&interval=10');
    expect(describeSpec(parseSourceSpec('serial:/dev/ttyUSB0?dsmr=5'))).toBe('serial:/dev/ttyUSB0');
  });
});
