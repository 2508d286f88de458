import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { replaySchedule } from '../../src/sources/replay.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/telegrams/${name}`, import.meta.url));

describe('replaySchedule', () => {
  it('paces telegrams by the differences of their meter times', () => {
    const start = Date.UTC(2024, 0, 10, 12, 0, 0);
    const meter = new VirtualMeter({ dsmr: '5', seed: 1, startMs: start });
    const capture = Buffer.from([0, 3, 5].map((s) => meter.telegramAt(start + s * 1000)).join(''), 'latin1');
    const steps = replaySchedule(capture);
    expect(steps.map((s) => s.delayMs)).toEqual([0, 3000, 2000]);
    expect(Buffer.concat(steps.map((s) => s.bytes)).equals(capture)).toBe(true);
  });

  it('reads lower-case season flags as upper-case ones (Landis+Gyr E350), across the change to winter time', () => {
    // 02:59:58 summer time, then 02:00:01 winter time: 3 s later (an hour of wall clock back).
    const at = (time: string): string => `/XMX5LGBBFFB231237741\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(${time})\r\n!\r\n`;
    const lower = replaySchedule(Buffer.from(at('231029025958s') + at('231029020001w'), 'latin1'));
    const upper = replaySchedule(Buffer.from(at('231029025958S') + at('231029020001W'), 'latin1'));
    expect(lower.map((s) => s.delayMs)).toEqual([0, 3000]);
    expect(upper.map((s) => s.delayMs)).toEqual([0, 3000]);
  });

  it('falls back to the version interval: 10 s for DSMR 2.2, 1 s for DSMR 5 without usable times', () => {
    const v22 = fixture('V2_2.txt');
    expect(replaySchedule(Buffer.concat([v22, v22])).map((s) => s.delayMs)).toEqual([0, 10_000]);
    const v5 = fixture('V5.txt');
    // The same telegram twice: no time passes between them, so the meter's interval is used.
    expect(replaySchedule(Buffer.concat([v5, v5])).map((s) => s.delayMs)).toEqual([0, 1000]);
  });

  it('keeps bytes before the first telegram and mid-line slashes in place', () => {
    const v5 = fixture('V5.txt');
    const capture = Buffer.concat([Buffer.from('noise/junk\r\n'), v5]);
    const steps = replaySchedule(capture);
    expect(steps.length).toBe(2);
    expect(steps[0]!.bytes.toString()).toBe('noise/junk\r\n');
    expect(steps[1]!.bytes.equals(v5)).toBe(true);
    expect(replaySchedule(Buffer.alloc(0))).toEqual([]);
  });
});
