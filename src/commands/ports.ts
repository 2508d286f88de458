import type { Command } from 'commander';
import { listSerialPorts, type SerialPortInfo } from '../sources/serial.js';

/** USB vendor id of FTDI, whose FT232R sits in most P1 cables (the original Kamstrup/FTDI wiring). */
const FTDI_VENDOR_ID = '0403';

export function registerPorts(program: Command): void {
  program
    .command('ports')
    .description('list serial ports with their USB vendor/product ids, flagging FTDI adapters (the usual P1 cable)')
    .option('--json', 'one JSON object per port instead of a table', false)
    .addHelpText('after', '\nUse a listed path as the source: p1logger read --source serial:/dev/ttyUSB0')
    .action(async (options: { json: boolean }) => {
      const ports = await listSerialPorts();
      process.stdout.write(options.json ? ports.map((p) => `${JSON.stringify({ ...p, ftdi: isFtdi(p) })}\n`).join('') : formatPortTable(ports));
    });
}

export function isFtdi(port: SerialPortInfo): boolean {
  return port.vendorId?.toLowerCase() === FTDI_VENDOR_ID;
}

/** Pure: the table `p1logger ports` prints. */
export function formatPortTable(ports: readonly SerialPortInfo[]): string {
  if (ports.length === 0) {
    return 'no serial ports found: is the P1 cable plugged in? (`lsusb` lists USB devices; `dmesg` shows a new ttyUSB)\n';
  }
  const rows = [['PATH', 'USB ID', 'MANUFACTURER', 'SERIAL', 'NOTE']];
  for (const p of ports) {
    const usb = p.vendorId !== undefined ? `${p.vendorId.toLowerCase()}:${(p.productId ?? '????').toLowerCase()}` : '-';
    const note = isFtdi(p) ? 'FTDI: the usual P1 cable' : p.vendorId === undefined ? 'not USB (built-in or virtual)' : '';
    rows.push([p.path, usb, p.manufacturer ?? '-', p.serialNumber ?? '-', note]);
  }
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ').trimEnd()).join('\n') + '\n';
}
