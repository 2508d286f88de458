import { describe, expect, it } from 'vitest';
import { classifyPortError } from '../../src/sources/port-errors.js';

describe('classifyPortError', () => {
  // serialport's errors carry only the system's message; these are the ones it produces on Linux.
  const cases: [string, string, RegExp][] = [
    ['Error: No such file or directory, cannot open /dev/ttyUSB0', 'P1_PORT_NOT_FOUND', /does not exist \(yet\).*plugged in/],
    ['Error: Permission denied, cannot open /dev/ttyUSB0', 'P1_PORT_PERMISSION', /dialout group \(sudo usermod -aG dialout \$USER\)/],
    ['Error: Inappropriate ioctl for device setting custom baud rate of 115200', 'P1_PORT_NOT_SERIAL', /is not a serial device/],
    ['Error: Is a directory, cannot open /dev/ttyUSB0', 'P1_PORT_NOT_SERIAL', /is not a serial device/],
    ['Error: Resource temporarily unavailable Cannot lock port', 'P1_PORT_BUSY', /in use by another program/],
    ['Error: Something new', 'P1_SOURCE_UNAVAILABLE', /cannot open \/dev\/ttyUSB0: Something new/],
  ];
  it.each(cases)('%s -> %s', (message, code, text) => {
    const error = classifyPortError('/dev/ttyUSB0', new Error(message));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(text);
    expect(error.message).toContain('/dev/ttyUSB0');
  });

  it('reads errno codes too (fs.stat before opening)', () => {
    const error = Object.assign(new Error('EACCES: permission denied, stat'), { code: 'EACCES' });
    expect(classifyPortError('/dev/ttyUSB0', error).code).toBe('P1_PORT_PERMISSION');
  });
});
