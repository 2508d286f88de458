import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeDataNotification } from '../../../src/frames/dlms/apdu.js';
import { decodeData, readLength } from '../../../src/frames/dlms/axdr.js';
import { dateTimeToIso, readDateTime } from '../../../src/frames/dlms/date-time.js';
import { dataNotification, encodeData, type EncodableData } from '../../../src/frames/dlms/encode.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s/g, ''), 'hex');

describe('A-XDR', () => {
  it('reads short and long lengths', () => {
    expect(readLength(hex('7f'), 0)).toEqual({ value: 127, end: 1 });
    expect(readLength(hex('81 f8'), 0)).toEqual({ value: 248, end: 2 });
    expect(readLength(hex('82 05de'), 0)).toEqual({ value: 1502, end: 3 });
    expect(readLength(hex('82 05'), 0)).toBeNull();
  });

  it('decodes the scalar types meters send', () => {
    const cases: Array<[string, unknown]> = [
      ['06 000005 52', { type: 'number', tag: 6, value: 1362 }],
      ['10 fff6', { type: 'number', tag: 16, value: -10 }],
      ['12 09c4', { type: 'number', tag: 18, value: 2500 }],
      ['0f ff', { type: 'number', tag: 15, value: -1 }],
      ['15 0000000000000476', { type: 'number', tag: 21, value: 1142 }],
      ['16 1b', { type: 'enum', value: 27 }],
      ['03 01', { type: 'boolean', value: true }],
      ['0a 03 414243', { type: 'string', value: 'ABC' }],
      ['00', { type: 'null' }],
    ];
    for (const [bytes, value] of cases) expect(decodeData(hex(bytes), 0)?.value, bytes).toEqual(value);
  });

  it('keeps the elements of a list the meter cut short, and says so', () => {
    const decoded = decodeData(hex('02 03 06 00000001 06 00000002 06 00'), 0);
    expect(decoded?.value).toMatchObject({ type: 'structure', declared: 3, truncated: true, items: [{ value: 1 }, { value: 2 }] });
  });

  it('refuses a list that announces more elements than bytes follow, and unknown tags', () => {
    expect(decodeData(hex('02 7f 00'), 0)).toBeNull();
    expect(decodeData(hex('ee 00'), 0)).toBeNull();
  });

  it('decodes what it encodes', () => {
    const leaf: fc.Arbitrary<EncodableData> = fc.oneof(
      fc.integer({ min: 0, max: 0xffffffff }).map((n) => ({ uint32: n })),
      fc.integer({ min: -0x8000, max: 0x7fff }).map((n) => ({ int16: n })),
      fc.integer({ min: 0, max: 255 }).map((n) => ({ enum: n })),
      fc.uint8Array({ maxLength: 40 }).map((b) => ({ octets: b })),
    );
    const data = fc.letrec<{ node: EncodableData }>((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 5 }).map((items) => ({ structure: items }))),
    })).node;
    fc.assert(
      fc.property(data, (value) => {
        const bytes = encodeData(value);
        const decoded = decodeData(bytes, 0);
        expect(decoded?.end).toBe(bytes.length);
        expect(decoded && !('truncated' in decoded.value)).toBe(true);
      }),
    );
  });
});

describe('data-notification', () => {
  it('reads the three forms of its date-time: absent, A-XDR (0C), tagged (09 0C)', () => {
    const time = hex('07e5091b01092f0f00ff8880');
    const body = encodeData({ structure: [{ uint32: 1 }] });
    expect(decodeDataNotification(dataNotification(1, null, body))?.dateTime).toBeNull();
    expect(Buffer.from(decodeDataNotification(dataNotification(1, time, body))!.dateTime!)).toEqual(time);
    const tagged = Buffer.concat([hex('0f 40000000 09 0c'), time, body]);
    expect(decodeDataNotification(tagged)).toMatchObject({ invokeId: 0x40000000, exact: true });
  });
});

describe('COSEM date-time', () => {
  it('gives the offset the deviation states (UTC minus local time), or the zone\'s when unspecified', () => {
    expect(dateTimeToIso(readDateTime(hex('07e5091b01092f0f00ff8880'))!)).toBe('2021-09-27T09:47:15+02:00');
    expect(dateTimeToIso(readDateTime(hex('07e4071502150000ff000000'))!)).toBe('2020-07-21T21:00:00+00:00');
    expect(dateTimeToIso(readDateTime(hex('07e60b1a060f0005ff800000'))!, 'Europe/Oslo')).toBe('2022-11-26T15:00:05+01:00');
    expect(dateTimeToIso(readDateTime(hex('07e60b1a060f0005ff800000'))!, 'Europe/Helsinki')).toBe('2022-11-26T15:00:05+02:00');
  });

  it('is null for dates that do not exist and for unspecified fields', () => {
    expect(readDateTime(hex('ffeeddccbbaa998877665544'))).toBeNull();
    expect(readDateTime(hex('07e5021d01092f0f00ff8880'))).toBeNull();
    expect(readDateTime(hex('ffff091b01092f0f00ff8880'))).toBeNull();
    expect(readDateTime(hex('07e5091b01ff2f0f00ff8880'))).toBeNull();
  });
});
