import { SubjectError } from '../errors.js';

/** Serial line settings. DSMR 2.2/3 meters talk 9600 7E1, DSMR 4/5 115200 8N1. */
export interface SerialSettings {
  baudRate: number;
  dataBits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
}

export type DsmrPreset = '2.2' | '3' | '4' | '5';
/** Which modem line asks the meter to send (DSMR pin 2, "data request"). */
export type RequestLine = 'dtr' | 'rts' | 'none';

/** What a serial meter speaks: DSMR text (P1 ports), DLMS (the HAN ports of Norway, Sweden, Austria...), or either. */
export type LineProtocol = 'auto' | 'dsmr' | 'dlms';

export interface SerialSpec {
  kind: 'serial';
  path: string;
  /** Fixed settings, or 'auto': try the settings of `protocol` in turn until a frame arrives. */
  settings: SerialSettings | 'auto';
  protocol: LineProtocol;
  request: RequestLine;
}

export interface TcpSpec {
  kind: 'tcp';
  host: string;
  port: number;
}

export interface FileSpec {
  kind: 'file';
  path: string;
  /** fast: as fast as the reader takes it, then end; realtime: one telegram per meter interval. */
  rate: 'fast' | 'realtime';
}

export type SimulatedDsmr = '5' | '2.2';
/** What the simulated meter sends: DSMR text, a HAN meter's DLMS frames, or Smarty's encrypted DSMR. */
export type SimulatedProtocol = 'dsmr' | 'dlms' | 'smarty';
export type SimulatedMeter = 'kamstrup' | 'aidon' | 'kaifa';

export interface SimulateSpec {
  kind: 'simulate';
  protocol: SimulatedProtocol;
  dsmr: SimulatedDsmr;
  /** protocol=dlms: whose HAN lists. */
  meter?: SimulatedMeter;
  /** Seconds between telegrams: 1 for DSMR 5, 10 for DSMR 2.2 unless given. */
  intervalS: number;
  seed?: number;
}

export type SourceSpec = SerialSpec | TcpSpec | FileSpec | SimulateSpec;

export const DSMR45_SETTINGS: SerialSettings = Object.freeze({ baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 });
export const DSMR223_SETTINGS: SerialSettings = Object.freeze({ baudRate: 9600, dataBits: 7, parity: 'even', stopBits: 1 });
/** M-Bus-to-USB HAN adapters: 2400 baud, 8E1 for Aidon, Kaifa and Landis+Gyr, 8N1 for Kamstrup. */
export const HAN_8E1_SETTINGS: SerialSettings = Object.freeze({ baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 });
export const HAN_8N1_SETTINGS: SerialSettings = Object.freeze({ baudRate: 2400, dataBits: 8, parity: 'none', stopBits: 1 });

/** The settings auto-detection tries, in order, for each protocol. */
export const AUTO_SETTINGS: Readonly<Record<LineProtocol, readonly SerialSettings[]>> = {
  auto: [DSMR45_SETTINGS, DSMR223_SETTINGS, HAN_8E1_SETTINGS, HAN_8N1_SETTINGS],
  dsmr: [DSMR45_SETTINGS, DSMR223_SETTINGS],
  dlms: [HAN_8E1_SETTINGS, HAN_8N1_SETTINGS],
};

export const STANDARD_BAUD_RATES = [300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600] as const;

/** "115200 8N1" */
export function formatSettings(s: SerialSettings): string {
  return `${s.baudRate} ${s.dataBits}${s.parity[0]!.toUpperCase()}${s.stopBits}`;
}

/** "115200 8N1 (DSMR 4/5)" when the settings are a DSMR preset. */
export function describeSettings(s: SerialSettings): string {
  const text = formatSettings(s);
  if (text === formatSettings(DSMR45_SETTINGS)) return `${text} (DSMR 4/5)`;
  if (text === formatSettings(DSMR223_SETTINGS)) return `${text} (DSMR 2.2/3)`;
  if (text === formatSettings(HAN_8E1_SETTINGS)) return `${text} (HAN: Aidon, Kaifa, Landis+Gyr)`;
  if (text === formatSettings(HAN_8N1_SETTINGS)) return `${text} (HAN: Kamstrup)`;
  return text;
}

/** Seconds between telegrams by DSMR version: 5 sends every second, older meters every 10 s. */
export function defaultIntervalS(dsmr: SimulatedDsmr): number {
  return dsmr === '5' ? 1 : 10;
}

/** What users call their meter's version (the README's table: "4.0 / 4.2", "5.0") -> the line settings it implies. */
const DSMR_VERSIONS: ReadonlyArray<[string, DsmrPreset]> = [
  ['2.2', '2.2'],
  ['3', '3'],
  ['3.0', '3'],
  ['4', '4'],
  ['4.0', '4'],
  ['4.2', '4'],
  ['5', '5'],
  ['5.0', '5'],
];

const FORMS =
  'serial:/dev/ttyUSB0[?protocol=auto|dsmr|dlms&dsmr=auto|2.2|3|4|4.2|5&baud=N&bits=7|8&parity=none|even|odd&stop=1|2&request=dtr|rts|none], ' +
  'tcp:HOST:PORT, file:PATH[?rate=fast|realtime], simulate[?protocol=dsmr|dlms|smarty&dsmr=5|2.2&meter=kamstrup|aidon|kaifa&interval=SECONDS&seed=N]';

/**
 * Parses a source spec (`serial:...`, `tcp:...`, `file:...`, `simulate...`). Pure. Throws P1Error
 * 'P1_SOURCE_SPEC' naming the part that is wrong and what is allowed there.
 */
export function parseSourceSpec(spec: string): SourceSpec {
  const fail = (what: string): never => {
    throw new SubjectError('P1_SOURCE_SPEC', `source "${spec}"`, what);
  };
  const colon = spec.indexOf(':');
  const question = spec.indexOf('?');
  const schemeEnd = colon === -1 ? (question === -1 ? spec.length : question) : question !== -1 && question < colon ? question : colon;
  const scheme = spec.slice(0, schemeEnd);
  const rest = spec.slice(schemeEnd + (spec[schemeEnd] === ':' ? 1 : 0));
  switch (scheme) {
    case 'serial':
      return parseSerial(rest, fail);
    case 'tcp':
      return parseTcp(rest, fail);
    case 'file':
      return parseFile(rest, fail);
    case 'simulate':
      return parseSimulate(spec.slice(schemeEnd), fail);
    default: {
      const hint = spec.startsWith('/dev/') ? ` (write serial:${spec})` : '';
      return fail(`unknown kind "${scheme}"${hint}; use one of ${FORMS}`);
    }
  }
}

type Fail = (what: string) => never;

/** Splits "path?key=value&..." into the path and its parameters, refusing unknown and repeated keys. */
function splitQuery(text: string, allowed: readonly string[], fail: Fail): { path: string; params: Map<string, string> } {
  const question = text.indexOf('?');
  const path = question === -1 ? text : text.slice(0, question);
  const params = new Map<string, string>();
  if (question === -1) return { path, params };
  for (const part of text.slice(question + 1).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = eq === -1 ? part : part.slice(0, eq);
    const value = eq === -1 ? '' : part.slice(eq + 1);
    if (!allowed.includes(key)) fail(`unknown parameter "${key}"; allowed: ${allowed.join(', ')}`);
    if (params.has(key)) fail(`parameter "${key}" is given twice`);
    if (value === '') fail(`parameter "${key}" has no value`);
    params.set(key, value);
  }
  return { path, params };
}

function oneOf<T extends string>(key: string, value: string | undefined, allowed: readonly T[], fail: Fail): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) fail(`${key} "${value}" is not allowed; use ${allowed.join(' or ')}`);
  return value as T;
}

function parseSerial(text: string, fail: Fail): SerialSpec {
  const { path, params } = splitQuery(text, ['protocol', 'dsmr', 'baud', 'bits', 'parity', 'stop', 'request'], fail);
  if (path === '') fail('the serial device path is missing (for example serial:/dev/ttyUSB0)');
  const version = oneOf('dsmr', params.get('dsmr'), ['auto', ...DSMR_VERSIONS.map(([name]) => name)], fail) ?? 'auto';
  const dsmr = version === 'auto' ? 'auto' : DSMR_VERSIONS.find(([name]) => name === version)![1];
  // A DSMR version names a DSMR meter; otherwise DSMR and DLMS settings are both tried.
  const protocol = oneOf('protocol', params.get('protocol'), ['auto', 'dsmr', 'dlms'], fail) ?? (dsmr === 'auto' ? 'auto' : 'dsmr');
  if (protocol === 'dlms' && dsmr !== 'auto') fail('protocol=dlms and a dsmr version contradict each other; give one');
  const request = oneOf('request', params.get('request'), ['dtr', 'rts', 'none'], fail) ?? 'dtr';

  const baudText = params.get('baud');
  let baudRate: number | undefined;
  if (baudText !== undefined) {
    baudRate = Number(baudText);
    if (!(STANDARD_BAUD_RATES as readonly number[]).includes(baudRate)) {
      fail(`baud "${baudText}" is not allowed; use one of ${STANDARD_BAUD_RATES.join(', ')}`);
    }
  }
  const bits = oneOf('bits', params.get('bits'), ['7', '8'], fail);
  const parity = oneOf('parity', params.get('parity'), ['none', 'even', 'odd'], fail);
  const stop = oneOf('stop', params.get('stop'), ['1', '2'], fail);

  const explicit = baudRate !== undefined || bits !== undefined || parity !== undefined || stop !== undefined;
  if (dsmr === 'auto' && !explicit) return { kind: 'serial', path, settings: 'auto', protocol, request };
  // Explicit line settings override the preset field by field; without a preset they start from 115200 8N1
  // (2400 8E1 for protocol=dlms).
  const base = dsmr === '2.2' || dsmr === '3' ? DSMR223_SETTINGS : protocol === 'dlms' ? HAN_8E1_SETTINGS : DSMR45_SETTINGS;
  const settings: SerialSettings = {
    baudRate: baudRate ?? base.baudRate,
    dataBits: bits === undefined ? base.dataBits : bits === '7' ? 7 : 8,
    parity: parity ?? base.parity,
    stopBits: stop === undefined ? base.stopBits : stop === '2' ? 2 : 1,
  };
  return { kind: 'serial', path, settings, protocol, request };
}

function parseTcp(text: string, fail: Fail): TcpSpec {
  if (text.includes('?')) fail('tcp sources take no parameters; use tcp:HOST:PORT');
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1 || text[close + 1] !== ':') return fail('an IPv6 host is written [ADDRESS]:PORT, e.g. tcp:[::1]:2000');
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon === -1) return fail('expected tcp:HOST:PORT, e.g. tcp:192.168.1.20:2000');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) fail('an IPv6 host is written [ADDRESS]:PORT, e.g. tcp:[::1]:2000');
  }
  if (host === '') fail('the host is missing; expected tcp:HOST:PORT');
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) fail(`port "${portText}" is not a TCP port (1-65535)`);
  return { kind: 'tcp', host, port };
}

function parseFile(text: string, fail: Fail): FileSpec {
  const { path, params } = splitQuery(text, ['rate'], fail);
  if (path === '') fail('the file path is missing (for example file:capture.txt)');
  const rate = oneOf('rate', params.get('rate'), ['fast', 'realtime'], fail) ?? 'fast';
  return { kind: 'file', path, rate };
}

function parseSimulate(text: string, fail: Fail): SimulateSpec {
  if (text !== '' && !text.startsWith('?')) fail('expected simulate or simulate?protocol=dsmr|dlms|smarty&dsmr=5|2.2&meter=kamstrup|aidon|kaifa&interval=SECONDS&seed=N');
  const { params } = splitQuery(text, ['protocol', 'dsmr', 'meter', 'interval', 'seed'], fail);
  const protocol = oneOf('protocol', params.get('protocol'), ['dsmr', 'dlms', 'smarty'], fail) ?? 'dsmr';
  const dsmr = oneOf('dsmr', params.get('dsmr'), ['5', '5.0', '2.2'], fail) === '2.2' ? '2.2' : '5';
  if (protocol !== 'dsmr' && params.has('dsmr')) fail(`dsmr=${dsmr} is for protocol=dsmr (Smarty sends DSMR 5)`);
  const meter = oneOf('meter', params.get('meter'), ['kamstrup', 'aidon', 'kaifa'], fail);
  if (meter !== undefined && protocol !== 'dlms') fail('meter= is for protocol=dlms');
  const intervalText = params.get('interval');
  // HAN lists come every 10 s (list 2), Smarty's telegrams too.
  const intervalS = intervalText === undefined ? (protocol === 'dsmr' ? defaultIntervalS(dsmr) : 10) : Number(intervalText);
  if (!Number.isFinite(intervalS) || intervalS < 0.01 || intervalS > 3600) {
    fail(`interval "${intervalText ?? ''}" is not allowed; use seconds from 0.01 to 3600`);
  }
  const spec: SimulateSpec = { kind: 'simulate', protocol, dsmr, intervalS };
  if (protocol === 'dlms') spec.meter = meter ?? 'kamstrup';
  const seedText = params.get('seed');
  if (seedText !== undefined) {
    if (!/^\d{1,10}$/.test(seedText) || Number(seedText) > 0xffffffff) fail(`seed "${seedText}" is not allowed; use a whole number from 0 to 4294967295`);
    spec.seed = Number(seedText);
  }
  return spec;
}

/** The spec in canonical form, for logs and status (no secrets can occur in a source spec). */
export function describeSpec(spec: SourceSpec): string {
  switch (spec.kind) {
    case 'serial':
      return `serial:${spec.path}`;
    case 'tcp':
      return spec.host.includes(':') ? `tcp:[${spec.host}]:${spec.port}` : `tcp:${spec.host}:${spec.port}`;
    case 'file':
      return `file:${spec.path}?rate=${spec.rate}`;
    case 'simulate':
      return `simulate?${spec.protocol === 'dsmr' ? `dsmr=${spec.dsmr}` : spec.protocol === 'dlms' ? `protocol=dlms&meter=${spec.meter ?? 'kamstrup'}` : 'protocol=smarty'}&interval=${spec.intervalS}${spec.seed === undefined ? '' : `&seed=${spec.seed}`}`;
  }
}
