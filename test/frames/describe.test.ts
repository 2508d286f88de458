import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectionReport, newDetection, noteEvent, type Detection } from '../../src/frames/describe.js';
import { FrameDetector } from '../../src/frames/detector.js';
import { readDlmsRecord } from '../../src/frames/dlms/record.js';
import type { DlmsKeys } from '../../src/frames/gcm.js';
import { storedFrame } from '../../src/frames/stored.js';

const corpus = new URL('../fixtures/external/', import.meta.url);

function detect(file: string, keys?: DlmsKeys): Detection {
  const detector = new FrameDetector(keys === undefined ? {} : { keys });
  const detection = newDetection();
  for (const event of [...detector.push(readFileSync(new URL(file, corpus))), ...detector.end()]) {
    const frame = storedFrame(event);
    noteEvent(detection, event, frame?.protocol === 'dlms' ? readDlmsRecord(frame.raw) : null);
  }
  return detection;
}

describe('what detect reports', () => {
  it('a plain HAN meter: protocol, maker, id, list; the serial settings that worked in the source line', () => {
    const detection = detect('UtilitechAS-amsreader-firmware/kaifa-ma304h3e-no-gh180-2.bin');
    expect(detection).toMatchObject({ protocol: 'hdlc', encrypted: false, key: 'not needed', maker: 'Kaifa', meter: '6970631403275928', list: 'KFM_001' });
    const report = detectionReport(detection, 'serial:/dev/ttyUSB0?baud=2400&bits=8&parity=even&stop=1', '2400 8E1 (HAN: Aidon, Kaifa, Landis+Gyr)');
    expect(report).toContain('serial settings: 2400 8E1 (HAN: Aidon, Kaifa, Landis+Gyr)');
    expect(report).toContain('  source: serial:/dev/ttyUSB0?baud=2400&bits=8&parity=even&stop=1');
    expect(report).not.toContain('decryptionKey');
  });

  it('an encrypted meter without its key: recognised, with the key it needs and the config line for it', () => {
    const detection = detect('UtilitechAS-amsreader-firmware/lg-e450-at-gh501-1.bin');
    expect(detection).toMatchObject({ protocol: 'hdlc', encrypted: true, key: 'missing', maker: 'Landis+Gyr', systemTitle: 'LGZ 4C475A6772A9A111' });
    const report = detectionReport(detection, 'tcp:192.168.1.20:2000', undefined);
    expect(report).toMatch(/key: needed/);
    expect(report).toContain('decryptionKey: { file: /etc/p1logger/decryption.key }');
  });

  it('with the right key it says so, with a wrong one it says what to check', () => {
    const key = Buffer.from('34743677397a24432646294a404e6352', 'hex');
    const authenticationKey = Buffer.from('c0c1c2c3c4c5c6c7c8c9cacbcccdcecf', 'hex');
    expect(detect('UtilitechAS-amsreader-firmware/lg-e450-at-gh501-1.bin', { decryptionKey: key, authenticationKey })).toMatchObject({ key: 'ok', meter: '30137181' });
    const wrong = detect('UtilitechAS-amsreader-firmware/lg-e450-at-gh501-1.bin', { decryptionKey: Buffer.alloc(16, 1) });
    expect(wrong.key).toBe('wrong');
    expect(detectionReport(wrong, 'tcp:h:1', undefined)).toMatch(/check decryptionKey/);
  });

  it('Smarty: encrypted DSMR', () => {
    const detection = detect('athombv-node-dsmr-parser/encrypted/dsmr-luxembourgh-spec-example-with-aad.bin');
    expect(detection).toMatchObject({ protocol: 'dsmr-encrypted', encrypted: true, key: 'missing' });
  });

  it('says when nothing was recognised', () => {
    expect(detectionReport(newDetection(), 'tcp:h:1', undefined)).toMatch(/^nothing recognised/);
  });
});
