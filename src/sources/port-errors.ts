import { P1Error } from '../errors.js';

/**
 * Turns a failure to open a serial device into a P1Error that says what to do. Pure. serialport's errors carry
 * no `code`, only the system's message ("Error: Permission denied, cannot open /dev/ttyUSB0"), so both are read.
 */
export function classifyPortError(path: string, error: unknown): P1Error {
  if (error instanceof P1Error) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const has = (errno: string, text: string): boolean => code === errno || message.includes(text);
  if (has('ENOENT', 'No such file or directory') || has('ENODEV', 'No such device') || has('ENXIO', 'No such device or address')) {
    return new P1Error(
      'P1_PORT_NOT_FOUND',
      `${path} does not exist (yet): is the P1 cable plugged in? Waiting for it to appear (\`p1logger ports\` lists the serial ports)`,
      { cause: error },
    );
  }
  if (has('EACCES', 'Permission denied') || has('EPERM', 'Operation not permitted')) {
    return new P1Error(
      'P1_PORT_PERMISSION',
      `no permission to open ${path}: add the user to the dialout group (sudo usermod -aG dialout $USER), then log in again or restart the service`,
      { cause: error },
    );
  }
  if (has('ENOTTY', 'Inappropriate ioctl') || has('EISDIR', 'Is a directory') || has('EINVAL', 'Invalid argument')) {
    return new P1Error(
      'P1_PORT_NOT_SERIAL',
      `${path} is not a serial device (serial settings cannot be applied to it); give the meter's adapter, e.g. serial:/dev/ttyUSB0 (\`p1logger ports\` lists them)`,
      { cause: error },
    );
  }
  if (has('EBUSY', 'Cannot lock port') || has('EAGAIN', 'Resource temporarily unavailable')) {
    return new P1Error(
      'P1_PORT_BUSY',
      `${path} is in use by another program (another p1logger, ModemManager, a serial console?); stop it or pick another port`,
      { cause: error },
    );
  }
  return new P1Error('P1_SOURCE_UNAVAILABLE', `cannot open ${path}: ${message.replace(/^Error: /, '')}`, { cause: error });
}

/** What a path is when it is not a character device, for the P1_PORT_NOT_SERIAL message. */
export function notSerialError(path: string, kind: 'a regular file' | 'a directory' | 'not a character device'): P1Error {
  return new P1Error(
    'P1_PORT_NOT_SERIAL',
    `${path} is ${kind}, not a serial device; give the meter's adapter, e.g. serial:/dev/ttyUSB0 (\`p1logger ports\` lists them)`,
  );
}
