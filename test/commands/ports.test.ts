import { describe, expect, it } from 'vitest';
import { formatPortTable } from '../../src/commands/ports.js';
import { runCli } from '../support/cli.js';

describe('p1logger ports', () => {
  it('flags FTDI adapters and shows USB ids', () => {
    const table = formatPortTable([
      { path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001', manufacturer: 'FTDI', serialNumber: 'A10KZ1' },
      { path: '/dev/ttyUSB1', vendorId: '067B', productId: '2303', manufacturer: 'Prolific' },
      { path: '/dev/ttyS0' },
    ]);
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^PATH\s+USB ID\s+MANUFACTURER\s+SERIAL\s+NOTE$/);
    expect(lines[1]).toMatch(/^\/dev\/ttyUSB0\s+0403:6001\s+FTDI\s+A10KZ1\s+FTDI: the usual P1 cable$/);
    expect(lines[2]).toMatch(/^\/dev\/ttyUSB1\s+067b:2303\s+Prolific\s+-$/);
    expect(lines[3]).toMatch(/^\/dev\/ttyS0\s+-\s+-\s+-\s+not USB/);
  });

  it('says what to check when there are none', () => {
    expect(formatPortTable([])).toMatch(/no serial ports found: is the P1 cable plugged in\?/);
  });

  it('lists the ports of this machine (serialport via udev)', async () => {
    const result = await runCli(['ports', '--json']);
    expect(result.code).toBe(0);
    for (const line of result.stdout.split('\n').filter(Boolean)) {
      const port = JSON.parse(line) as { path: string; ftdi: boolean };
      expect(port.path).toMatch(/^\/dev\//);
      expect(typeof port.ftdi).toBe('boolean');
    }
    const table = await runCli(['ports']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^(PATH|no serial ports found)/);
  });
});
