import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FrameDetector, type DetectorEvent } from '../../src/frames/detector.js';
import { decodeDataNotification } from '../../src/frames/dlms/apdu.js';
import { readNotification, type DlmsReading } from '../../src/frames/dlms/reading.js';
import type { DlmsKeys } from '../../src/frames/gcm.js';
import { PayloadUnwrapper } from '../../src/frames/payload.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import type { CosemObject } from '../../src/telegram/types.js';

const corpusDir = fileURLToPath(new URL('../fixtures/external/', import.meta.url));
const sharedDir = fileURLToPath(new URL('../../../shared/telegrams/external/', import.meta.url));
const FOLDERS = ['athombv-node-dsmr-parser/dlms', 'athombv-node-dsmr-parser/encrypted', 'turbokongen-hass-AMS', 'UtilitechAS-amsreader-firmware'];

/** The form of NAME.expected.json (see the folders' READMEs) that this test reads. */
interface Expected {
  protocol: 'hdlc-dlms' | 'hdlc-dlms-encrypted' | 'mbus-dlms-encrypted' | 'dlms-apdu' | 'dsmr-encrypted';
  objects: Record<string, ExpectedValue>;
  frame_time?: string;
  time?: string;
  crc?: 'bad';
  count?: number;
  key?: string;
  authentication_key?: string;
}
type ExpectedValue = string | number | null | { value: number; unit: string } | { hex: string };

/**
 * Where this test knowingly reads a sample differently from its expected.json, and why. Everything else must match.
 */
const DEVIATIONS: Record<string, { objects?: Record<string, ExpectedValue>; count?: number; why: string }> = {
  'iskra-am550-si-gh956-2.bin': {
    objects: { '0-0:96.14.0': 2 },
    why: 'the tariff octet string 0002: slovenia-list-2 (same layout) expects the number 2, this file the bytes; p1logger gives the number (the tariff field)',
  },
  'described-list.bin': {
    count: 0,
    why: 'the peer parses this frame despite its bad FCS (count 1); a frame that fails its check is never a reading in p1logger',
  },
};

interface Sample {
  folder: string;
  file: string;
  bytes: Buffer;
  expected: Expected;
}

function samples(): Sample[] {
  return FOLDERS.flatMap((folder) =>
    readdirSync(path.join(corpusDir, folder))
      .filter((file) => file.endsWith('.bin'))
      .sort()
      .map((file) => ({
        folder,
        file,
        bytes: readFileSync(path.join(corpusDir, folder, file)),
        expected: JSON.parse(readFileSync(path.join(corpusDir, folder, file.replace(/\.bin$/, '.expected.json')), 'utf8')) as Expected,
      })),
  );
}

function keysOf(expected: Expected): DlmsKeys | undefined {
  if (expected.key === undefined) return undefined;
  const keys: DlmsKeys = { decryptionKey: Buffer.from(expected.key, 'hex') };
  if (expected.authentication_key !== undefined) keys.authenticationKey = Buffer.from(expected.authentication_key, 'hex');
  return keys;
}

interface Decoded {
  readings: DlmsReading[];
  events: DetectorEvent[];
  crcErrors: number;
}

/** The sample as p1logger reads it: a stream through the detector, or (for `dlms-apdu`) one APDU as logged. */
function decode(sample: Sample): Decoded {
  const keys = keysOf(sample.expected);
  if (sample.expected.protocol === 'dlms-apdu') {
    const result = new PayloadUnwrapper(keys).unwrap(sample.bytes);
    const readings = result.kind === 'dlms' ? [readNotification(decodeDataNotification(result.apdu)!)] : [];
    return { readings, events: [], crcErrors: 0 };
  }
  const detector = new FrameDetector(keys === undefined ? {} : { keys });
  const events = [...detector.push(sample.bytes), ...detector.end()];
  const readings = events.flatMap((e) => (e.type === 'dlms' ? [readNotification(decodeDataNotification(e.apdu)!)] : []));
  return { readings, events, crcErrors: detector.stats.crcErrors };
}

function expectObject(file: string, reference: string, actual: CosemObject | undefined, expected: ExpectedValue): void {
  const where = `${file} ${reference}`;
  if (expected === null) {
    expect(actual?.value ?? null, where).toBeNull();
  } else if (typeof expected === 'object' && 'hex' in expected) {
    expect(actual, where).toEqual({ value: expected.hex.toUpperCase() });
  } else if (typeof expected === 'object') {
    expect(actual, where).toEqual({ value: expected.value, unit: expected.unit });
  } else if (typeof expected === 'string' && ISO_TIME.test(expected)) {
    expectTime(where, typeof actual?.value === 'string' ? actual.value : null, expected);
  } else if (typeof expected === 'string') {
    // Octet strings keep their bytes as hex (the DSMR contract for ids) with the text beside them.
    expect(actual?.text ?? actual?.value, where).toBe(expected);
  } else {
    expect(actual, where).toEqual({ value: expected });
  }
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/;

function expectTime(where: string, actual: string | null, expected: string): void {
  if (expected.length === 25) {
    expect(actual, where).toBe(expected);
  } else {
    // The clock leaves its UTC deviation unspecified: the offset is the zone's (Europe/Amsterdam's rules).
    expect(actual, where).toMatch(new RegExp(`^${expected}\\+0[12]:00$`));
  }
}

const ID_REFERENCES = ['0-0:96.1.0', '1-1:0.0.5', '0-0:42.0.0'];
const LUXEMBOURG_PLAINTEXT = 'athombv-node-dsmr-parser/dsmr-luxembourgh-spec-example.txt';

describe('the external DLMS/encrypted corpus', () => {
  const all = samples();

  it('has all 62 binary samples', () => {
    expect(all).toHaveLength(62);
  });

  for (const sample of all) {
    const { expected, file } = sample;
    const deviation = DEVIATIONS[file];
    const bad = expected.crc === 'bad';

    if (expected.protocol === 'dsmr-encrypted') {
      it(`${file}: decrypts to the Luxembourg telegram, which the DSMR framer then judges by its CRC`, () => {
        const { events } = decode(sample);
        const rejected = events.filter((e) => e.type === 'rejected');
        // The telegram inside says CRC 8B52, its bytes give another: no reading, one CRC error.
        expect(events.filter((e) => e.type === 'telegram')).toHaveLength(0);
        expect(rejected).toHaveLength(1);
        const [telegram] = rejected;
        if (telegram?.type !== 'rejected') throw new Error('unreachable');
        expect(telegram.code).toBe('P1_CRC_MISMATCH');
        expect(telegram.raw).toBe(readFileSync(path.join(corpusDir, LUXEMBOURG_PLAINTEXT), 'latin1'));
        const parsed = parseTelegram(telegram.raw);
        expect(parsed.time).toBe(expected.time);
        for (const [reference, value] of Object.entries(expected.objects)) {
          const object = parsed.objects[reference];
          if (typeof value === 'string') expect([object?.value, object?.text], reference).toContain(value);
          else if (value !== null && typeof value === 'object' && 'unit' in value) expect(object, reference).toMatchObject({ value: value.value, unit: value.unit });
          else expect(object?.value, reference).toBe(value);
        }
      });
      continue;
    }

    const count = deviation?.count ?? (bad ? 0 : (expected.count ?? 1));
    if (count === 0) {
      it(`${file}: fails its check, gives no reading and counts a CRC error`, () => {
        const { readings, crcErrors, events } = decode(sample);
        expect(readings).toHaveLength(0);
        expect(crcErrors).toBe(1);
        expect(events.filter((e) => e.type === 'frame-rejected').map((e) => (e.type === 'frame-rejected' ? e.code : ''))).toEqual(['P1_CRC_MISMATCH']);
      });
      continue;
    }

    it(`${file}: ${expected.protocol} decodes to its objects, meter id and time`, () => {
      const { readings } = decode(sample);
      expect(readings, file).toHaveLength(count);
      const reading = readings[0]!;
      const objects = { ...expected.objects, ...deviation?.objects };
      for (const [reference, value] of Object.entries(objects)) expectObject(file, reference, reading.objects[reference], value);

      const idReference = ID_REFERENCES.find((reference) => typeof objects[reference] === 'string');
      if (idReference !== undefined) expect(reading.meter, `${file} meter`).toBe(objects[idReference]);

      // A notification without a date-time of its own is read at its clock object's time.
      const clock = objects['0-0:1.0.0'];
      const time = expected.frame_time ?? expected.time ?? (typeof clock === 'string' ? clock : undefined);
      if (time === undefined) expect(reading.time, `${file} time`).toBeNull();
      else expectTime(`${file} time`, reading.time, time);
    });
  }

  it.skipIf(!existsSync(sharedDir))('is a byte-for-byte copy of the shared corpus beside the checkout', () => {
    for (const folder of FOLDERS) {
      const names = readdirSync(path.join(sharedDir, folder)).sort();
      expect(readdirSync(path.join(corpusDir, folder)).sort(), folder).toEqual(names);
      for (const name of names) {
        expect(readFileSync(path.join(corpusDir, folder, name)).equals(readFileSync(path.join(sharedDir, folder, name))), `${folder}/${name}`).toBe(true);
      }
    }
    expect(readFileSync(path.join(corpusDir, LUXEMBOURG_PLAINTEXT)).equals(readFileSync(path.join(sharedDir, LUXEMBOURG_PLAINTEXT)))).toBe(true);
  });
});
