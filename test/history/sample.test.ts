import { describe, expect, it } from 'vitest';
import { Aggregator } from '../../src/history/aggregate.js';
import { sampleOfRecord } from '../../src/history/sample.js';
import { recordToPoints } from '../../src/sinks/points.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';
import { fixtureBytes, telegramFiles } from '../support/fixtures.js';

const RECEIVED = '2024-06-01T12:00:00.000Z';

describe('history samples of the corpus fixtures', () => {
  it.each(telegramFiles())('%s: the sample holds what its points say', (name) => {
    const raw = fixtureBytes(name).toString('latin1');
    const record = { seq: 1, receivedAt: RECEIVED, protocol: 'dsmr' as const, raw: raw.slice(raw.indexOf('/')) };
    const points = recordToPoints(record);
    const sample = sampleOfRecord(record);
    expect(sample).toBeDefined();
    const electricity = points.find((p) => p.measurement === 'electricity');
    const f = electricity?.fields ?? {};
    const tariffs = f.import_t1 !== undefined || f.import_t2 !== undefined;
    expect(sample!.time).toBe(electricity?.time ?? Date.parse(RECEIVED));
    expect(sample!.importT1).toBe((tariffs ? f.import_t1 : f.import_total) ?? null);
    expect(sample!.importT2).toBe((tariffs ? f.import_t2 : undefined) ?? null);
    expect(sample!.powerImport).toBe(f.power_import ?? null);
    expect(sample!.voltage).toEqual([f.voltage_l1 ?? null, f.voltage_l2 ?? null, f.voltage_l3 ?? null]);
    expect(sample!.current).toEqual([f.current_l1 ?? null, f.current_l2 ?? null, f.current_l3 ?? null]);
    expect(sample!.devices.map((d) => [d.kind, d.value, d.time])).toEqual(points.filter((p) => p.measurement !== 'electricity').map((p) => [p.measurement, p.fields.value, p.time]));

    // The same meter 10 s later with 1.5 kWh more on its first counter: one hour, that much use, no reset.
    const later = { ...sample!, time: sample!.time + 10_000, importT1: sample!.importT1 === null ? null : sample!.importT1 + 1.5 };
    const aggregator = new Aggregator('Europe/Amsterdam');
    aggregator.add(sample!);
    aggregator.add(later);
    const rows = aggregator.finishAll();
    const total = rows.reduce((n, r) => n + r.importT1Wh, 0);
    expect(total).toBe(sample!.importT1 === null ? 0 : 1500);
    expect(rows.reduce((n, r) => n + r.telegrams + r.resets, 0)).toBe(2);
    const voltages = sample!.voltage.filter((v) => v !== null);
    if (voltages.length > 0) expect(rows.at(-1)!.voltageMax.filter((v) => v !== null)).toEqual(voltages);
  });
});

describe('history of the simulated meter', () => {
  it("four days of DSMR 5 telegrams across the spring transition: each day's kWh per tariff and gas are the meter's counter differences", () => {
    const from = Date.parse('2025-03-28T00:00:05+01:00');
    const meter = new VirtualMeter({ dsmr: '5', startMs: from });
    const aggregator = new Aggregator('Europe/Amsterdam');
    // The exact counters at the last telegram of each local day, as the meter shows them (whole Wh).
    const atMidnight: Array<{ t1: number; t2: number }> = [];
    // The meter's W·ms counter is exact; its telegram shows whole Wh.
    const shown = (kwh: number): number => Math.floor(Math.round(kwh * 3.6e9) / 3.6e6);
    // Gas readings (dm3) by their own 5-minute stamps: the one stamped at midnight closes the day before.
    const gasAt = new Map<number, number>();
    let t = from;
    for (let day = 0; day < 5; day++) {
      const end = Date.parse(new Date(Date.UTC(2025, 2, 29 + day)).toISOString().slice(0, 10) + 'T00:00:00' + (day >= 2 ? '+02:00' : '+01:00'));
      for (; t <= end; t += 30_000) {
        const sample = sampleOfRecord({ seq: 1, receivedAt: new Date(t).toISOString(), protocol: 'dsmr', raw: meter.telegramAt(t) })!;
        for (const d of sample.devices) gasAt.set(d.time, Math.round(d.value * 1000));
        aggregator.add(sample);
      }
      const r = meter.reading;
      atMidnight.push({ t1: shown(r.importT1), t2: shown(r.importT2) });
    }
    const hours = aggregator.finishAll();
    for (let day = 1; day < 4; day++) {
      const start = Date.parse(new Date(Date.UTC(2025, 2, 28 + day)).toISOString().slice(0, 10) + 'T00:00:00' + (day >= 3 ? '+02:00' : '+01:00'));
      // 30 March, when clocks go forward, has 23 hours.
      const length = day === 2 ? 23 : 24;
      const ofDay = hours.filter((h) => h.start >= start && h.start < start + length * 3600_000);
      expect(ofDay).toHaveLength(length);
      expect(ofDay.reduce((n, h) => n + h.importT1Wh, 0)).toBe(atMidnight[day]!.t1 - atMidnight[day - 1]!.t1);
      expect(ofDay.reduce((n, h) => n + h.importT2Wh, 0)).toBe(atMidnight[day]!.t2 - atMidnight[day - 1]!.t2);
      const end = ofDay.at(-1)!.end;
      expect(ofDay.reduce((n, h) => n + Object.values(h.devices).reduce((m, d) => m + d.milli, 0), 0)).toBe(gasAt.get(end)! - gasAt.get(start)!);
      expect(ofDay.every((h) => h.telegrams === 120 && h.gaps === 0 && h.resets === 0)).toBe(true);
    }
  });
});
