import type { DetectorEvent, StreamProtocol } from './detector.js';
import type { DlmsReading } from './dlms/reading.js';
import { titleText } from './payload.js';
import { makerOf } from './dlms/reading.js';

/** What `p1logger detect` found on a source, gathered from the detector's events. Pure. */
export interface Detection {
  protocol: StreamProtocol | null;
  encrypted: boolean;
  /** The meter's frames are encrypted and could not be read: no key, or the wrong one. */
  key: 'not needed' | 'ok' | 'missing' | 'wrong';
  maker: string | null;
  meter: string | null;
  list: string | null;
  systemTitle: string | null;
  /** What p1logger read: DSMR telegrams or DLMS notifications. */
  readings: number;
}

export function newDetection(): Detection {
  return { protocol: null, encrypted: false, key: 'not needed', maker: null, meter: null, list: null, systemTitle: null, readings: 0 };
}

/** Folds one event (and the reading it gave, for DLMS) into the detection. */
export function noteEvent(detection: Detection, event: DetectorEvent, reading?: DlmsReading | null): void {
  switch (event.type) {
    case 'detected':
      detection.protocol = event.protocol;
      detection.encrypted = event.encrypted;
      if (event.encrypted) detection.key = 'ok';
      break;
    case 'telegram': {
      detection.readings++;
      const header = /^\/([^\r\n]*)/.exec(event.raw)?.[1] ?? null;
      detection.list ??= header;
      detection.maker ??= makerOf([header?.slice(0, 3)]);
      break;
    }
    case 'dlms':
      detection.readings++;
      if (event.systemTitle !== null) {
        detection.systemTitle = titleText(event.systemTitle);
        detection.maker ??= makerOf([Buffer.from(event.systemTitle.subarray(0, 3)).toString('latin1')]);
      }
      if (reading) {
        detection.maker = reading.maker ?? detection.maker;
        detection.meter = reading.meter ?? detection.meter;
        detection.list = reading.list ?? reading.layout;
      }
      break;
    case 'frame-rejected':
      if (event.code !== 'P1_KEY_REQUIRED' && event.code !== 'P1_DECRYPT_FAILED') break;
      detection.encrypted = true;
      detection.protocol ??= event.transport === 'mbus' ? 'mbus' : event.transport === 'hdlc' ? 'hdlc' : 'dsmr-encrypted';
      if (detection.readings === 0) detection.key = event.code === 'P1_KEY_REQUIRED' ? 'missing' : 'wrong';
      if (event.systemTitle !== undefined) {
        detection.systemTitle = titleText(event.systemTitle);
        detection.maker ??= makerOf([Buffer.from(event.systemTitle.subarray(0, 3)).toString('latin1')]);
      }
      break;
    default:
      break;
  }
}

const PROTOCOL_NAMES: Record<StreamProtocol, string> = {
  dsmr: 'DSMR text telegrams (P1)',
  'dsmr-encrypted': 'encrypted DSMR telegrams (DLMS general-glo-ciphering, as Luxembourg\'s Smarty sends them)',
  hdlc: 'DLMS/COSEM data-notifications in HDLC frames (HAN port)',
  mbus: 'DLMS/COSEM data-notifications in wired M-Bus frames',
};

/**
 * The report `p1logger detect` prints: what was found, and the configuration lines to use. `source` is the spec
 * to write in the configuration (with the serial settings that worked, for a serial port).
 */
export function detectionReport(detection: Detection, source: string, settings: string | undefined): string {
  if (detection.protocol === null) {
    return 'nothing recognised: no DSMR telegram, HDLC or M-Bus frame arrived.\nCheck the cable, and for a HAN port an M-Bus adapter; try a longer --timeout.\n';
  }
  const lines = [`protocol: ${PROTOCOL_NAMES[detection.protocol]}${detection.encrypted && detection.protocol !== 'dsmr-encrypted' ? ', encrypted' : ''}`];
  const meter = [detection.maker, detection.meter === null ? null : `id ${detection.meter}`, detection.list === null ? null : `list ${detection.list}`].filter((p) => p !== null);
  lines.push(`meter: ${meter.length === 0 ? 'not named in its frames' : meter.join(', ')}`);
  if (detection.systemTitle !== null) lines.push(`system title: ${detection.systemTitle}`);
  if (settings !== undefined) lines.push(`serial settings: ${settings}`);
  switch (detection.key) {
    case 'missing':
      lines.push('key: needed. The meter encrypts: ask your grid operator for its key (32 hex digits) and give it as decryptionKey');
      break;
    case 'wrong':
      lines.push('key: the frames do not decrypt with the key given: check decryptionKey (and authenticationKey, if the operator gave one)');
      break;
    case 'ok':
      lines.push('key: the frames decrypt with the key given');
      break;
    case 'not needed':
      break;
  }
  lines.push('', 'config lines to use:', `  source: ${source}`);
  if (detection.encrypted) {
    lines.push('  decryptionKey: { file: /etc/p1logger/decryption.key }   # 32 hex digits, chmod 600 (or env P1LOGGER_DECRYPTION_KEY)');
    if (detection.protocol !== 'dsmr-encrypted') lines.push('  # authenticationKey: { file: /etc/p1logger/authentication.key }   # only if the operator gave one');
  }
  return `${lines.join('\n')}\n`;
}
