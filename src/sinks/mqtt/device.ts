import { createRequire } from 'node:module';

/** p1logger's version for Home Assistant's device page; src/sinks/mqtt and dist/sinks/mqtt sit three levels down. */
export const P1LOGGER_VERSION: string = ((): string => {
  try {
    return (createRequire(import.meta.url)('../../../package.json') as { version?: string }).version ?? '0.0.0';
  } catch {
    // A build copied without its package.json (a benchmark's temp dir): the version is only shown, never needed.
    return '0.0.0';
  }
})();

/**
 * Manufacturer flag ids (the three letters after `/` in a telegram's header, registered with the DLMS User
 * Association) of the meters p1logger is known to read. Anything else is shown as its flag id.
 */
const MANUFACTURERS: ReadonlyMap<string, string> = new Map([
  ['ELS', 'Elster'],
  ['ESY', 'EasyMeter'],
  ['ISK', 'Iskraemeco'],
  ['KAM', 'Kamstrup'],
  ['KFM', 'Kaifa'],
  ['KMP', 'Kamstrup'],
  ['LGZ', 'Landis+Gyr'],
  ['SAG', 'Sagemcom'],
  ['XMX', 'Xemex'],
]);

export interface MeterModel {
  manufacturer: string;
  model: string;
}

/**
 * A telegram's header line (`/ISK5\2M550T-1012`) -> manufacturer and model. After the flag id comes one
 * character for the baud rate and, in IEC 62056-21 mode D, an optional `\` plus one enhancement digit; the
 * rest is the meter's identification. Pure.
 */
export function meterModel(raw: string): MeterModel {
  const end = raw.search(/[\r\n]/);
  const header = (end === -1 ? raw : raw.slice(0, end)).replace(/^\//, '').trim();
  const flag = header.slice(0, 3);
  const model = header.slice(4).replace(/^\\\d?/, '').trim();
  return { manufacturer: MANUFACTURERS.get(flag.toUpperCase()) ?? (flag === '' ? 'unknown' : flag), model: model === '' ? header : model };
}
