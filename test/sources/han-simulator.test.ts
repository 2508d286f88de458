import { describe, expect, it } from 'vitest';
import { FrameDetector } from '../../src/frames/detector.js';
import { readDlmsRecord } from '../../src/frames/dlms/record.js';
import type { DlmsKeys } from '../../src/frames/gcm.js';
import { storedFrame } from '../../src/frames/stored.js';
import { recordToPoints } from '../../src/sinks/points.js';
import { simulatedFrames, type FrameSimulationOptions } from '../../src/sources/simulator.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';

/** 12:59:40 local (11:59:40 UTC, winter): the fifth frame is the hour's list 3. */
const START = Date.parse('2024-01-15T11:59:40Z');

async function frames(options: Partial<FrameSimulationOptions>, count = 6): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const frame of simulatedFrames({ dsmr: '5', intervalS: 10, fast: true, startMs: START, count, ...options }, new AbortController().signal)) out.push(frame);
  return Buffer.concat(out);
}

function decode(bytes: Buffer, keys?: DlmsKeys) {
  const detector = new FrameDetector(keys === undefined ? {} : { keys });
  const events = [...detector.push(bytes), ...detector.end()];
  return { events, stats: detector.stats };
}

describe('simulate?protocol=dlms', () => {
  it.each([
    ['kamstrup', 'Kamstrup', 'Kamstrup_V0001', 'obis'],
    ['aidon', 'Aidon', 'AIDON_V0001', 'obis'],
    ['kaifa', 'Kaifa', 'KFM_001', 'kaifa-list-2-3p'],
  ] as const)('%s: HDLC frames p1logger reads as that maker\'s lists, list 3 on the hour', async (meter, maker, list, layout) => {
    const { events, stats } = decode(await frames({ protocol: 'dlms', meter }));
    expect(stats).toMatchObject({ frames: 6, crcErrors: 0, junkBytes: 0 });
    const records = events.flatMap((e) => {
      const frame = storedFrame(e);
      return frame === null ? [] : [{ seq: 1, receivedAt: new Date(START).toISOString(), ...frame }];
    });
    const readings = records.map((r) => readDlmsRecord(r.raw)!);
    expect(readings[0]).toMatchObject({ maker, list, layout });
    expect(readings[0]!.meter).toMatch(/^\d{16}$/);
    // The simulated household, in the same fields a DSMR meter gives.
    const model = new VirtualMeter({ dsmr: '5', startMs: START });
    model.advance(START);
    const [point] = recordToPoints(records[0]!);
    expect(point!.fields['power_import']).toBeCloseTo(model.reading.powerImportW / 1000, 3);
    // Kamstrup sends whole volts.
    expect(Math.abs(point!.fields['voltage_l1']! - model.reading.voltagesV[0])).toBeLessThanOrEqual(0.5);
    expect(point!.tags).toEqual({ meter: readings[0]!.meter });
    // Only the frame on the hour carries the energy registers.
    const withEnergy = records.map((r) => recordToPoints(r).some((p) => 'import_total' in p.fields));
    expect(withEnergy).toEqual([false, false, true, false, false, false]);
  });

  it('encrypts its frames when given a key, and they decrypt with it', async () => {
    const keys = { decryptionKey: Buffer.alloc(16, 3) };
    const bytes = await frames({ protocol: 'dlms', meter: 'aidon', keys }, 2);
    expect(decode(bytes).stats.keyMissing).toBe(2);
    expect(decode(bytes, keys).stats.frames).toBe(2);
  });
});

describe('simulate?protocol=smarty', () => {
  it('sends DSMR 5 telegrams encrypted as Smarty does; with the key they are valid telegrams', async () => {
    const keys = { decryptionKey: Buffer.from('00112233445566778899aabbccddeeff', 'hex') };
    const bytes = await frames({ protocol: 'smarty', keys }, 3);
    expect(bytes[0]).toBe(0xdb);
    const { events, stats } = decode(bytes, keys);
    expect(stats).toMatchObject({ telegrams: 3, crcErrors: 0 });
    expect(events.find((e) => e.type === 'detected')).toEqual({ type: 'detected', protocol: 'dsmr-encrypted', encrypted: true });
    await expect(frames({ protocol: 'smarty' }, 1)).rejects.toMatchObject({ code: 'P1_SOURCE_SPEC' });
  });
});
