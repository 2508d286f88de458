import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FrameDetector } from '../../src/frames/detector.js';
import { dataNotification, encodeData, obisOctets, type EncodableData } from '../../src/frames/dlms/encode.js';
import { recordsToLines } from '../../src/sinks/line-protocol.js';
import { recordToPoints } from '../../src/sinks/points.js';
import type { QueueRecord } from '../../src/queue/types.js';

const corpus = new URL('../fixtures/external/', import.meta.url);
const receivedAt = '2030-01-01T00:00:00.000Z';

/** The record the service stores for a capture's one DLMS frame. */
function recordOf(file: string): QueueRecord {
  const detector = new FrameDetector();
  const events = [...detector.push(readFileSync(new URL(file, corpus))), ...detector.end()];
  const frame = events.find((e) => e.type === 'dlms');
  if (frame?.type !== 'dlms') throw new Error(`${file}: no DLMS frame`);
  return { seq: 1, receivedAt, protocol: 'dlms', raw: Buffer.from(frame.apdu).toString('latin1') };
}

describe('DLMS readings as points', () => {
  it('Kamstrup (channel 1-1) gives the DSMR electricity fields in kW, kWh, V, A, tagged with its GS1 number', () => {
    const points = recordToPoints(recordOf('turbokongen-hass-AMS/kamstrup-list3.bin'));
    expect(points).toEqual([
      {
        measurement: 'electricity',
        tags: { meter: '5706567271589419' },
        fields: {
          power_import: 2.69,
          power_export: 0,
          current_l1: 2.84,
          current_l2: 8.96,
          current_l3: 10.21,
          voltage_l1: 238,
          voltage_l2: 239,
          voltage_l3: 240,
          import_total: 155232.51,
          export_total: 0,
        },
        time: Date.parse('2022-11-26T15:00:05+01:00'),
      },
    ]);
  });

  it('an Aidon list 1 (no meter id, no time) is a point at the receive time without a meter tag', () => {
    const [point] = recordToPoints(recordOf('turbokongen-hass-AMS/aidon-6534-list1.bin'));
    expect(point).toEqual({ measurement: 'electricity', tags: {}, fields: { power_import: 0.733 }, time: Date.parse(receivedAt) });
  });

  it('registers after the clock of an hourly list are a point at the clock\'s time, the rest at the notification\'s', () => {
    const item = (reference: string, value: EncodableData, scaler: number, unit: number): EncodableData => ({
      structure: [{ octets: obisOctets(reference) }, value, { structure: [{ int8: scaler }, { enum: unit }] }],
    });
    const clock = Buffer.from('07e4071502100000ff800000', 'hex');
    const sentAt = Buffer.from('07e4071502100008ff800000', 'hex');
    const body = encodeData({
      array: [
        item('1-0:1.7.0', { uint32: 1769 }, 0, 27),
        { structure: [{ octets: obisOctets('0-0:1.0.0') }, { octets: clock }] },
        item('1-0:1.8.0', { uint32: 9406459 }, 1, 30),
      ],
    });
    const record: QueueRecord = { seq: 1, receivedAt, protocol: 'dlms', raw: dataNotification(1, sentAt, body).toString('latin1') };
    expect(recordToPoints(record)).toEqual([
      { measurement: 'electricity', tags: {}, fields: { power_import: 1.769 }, time: Date.parse('2020-07-21T16:00:08+02:00') },
      { measurement: 'electricity', tags: {}, fields: { import_total: 94064.59 }, time: Date.parse('2020-07-21T16:00:00+02:00') },
    ]);
    expect(recordsToLines([record])).toEqual([
      'electricity power_import=1.769 1595340008',
      'electricity import_total=94064.59 1595340000',
    ]);
  });

  it('a DLMS record that does not decode gives no point', () => {
    expect(recordToPoints({ seq: 1, receivedAt, protocol: 'dlms', raw: '\u000f\u0001' })).toEqual([]);
  });
});
