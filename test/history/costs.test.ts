import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tariffsSchema } from '../../src/config/history-schema.js';
import { costsOf } from '../../src/history/costs.js';
import { emptyRow } from '../../src/history/row.js';
import { runCli } from '../support/cli.js';

const TZ = 'Europe/Amsterdam';
const tariffs = tariffsSchema.parse({
  import: [{ from: '2025-01-01', t1: 0.2, t2: 0.3 }, { from: '2025-03-30', price: 0.25 }],
  export: [{ from: '2025-01-01', price: 0.1 }],
  gas: [{ from: '2025-01-01', price: 1.5 }],
  fixedPerDay: [{ from: '2025-01-01', price: 2.3 }],
});

describe('costs from dated tariffs', () => {
  it('prices each day at the entry in force on its local date, fixed costs per day shared by its hours', () => {
    const day = { ...emptyRow(Date.parse('2025-03-29T00:00:00+01:00'), Date.parse('2025-03-30T00:00:00+01:00')), importT1Wh: 1000, importT2Wh: 2000, exportT1Wh: 500 };
    expect(costsOf(day, 2, tariffs, TZ)).toEqual({ import: 0.8, export: 0.05, gas: 3, fixed: 2.3, total: 6.05 });
    // 30 March: the single price from that day, and 23 hours share the day's fixed costs.
    const start = Date.parse('2025-03-30T00:00:00+01:00');
    const hour = { ...emptyRow(start, start + 3600_000), importT1Wh: 1000, importT2Wh: 1000 };
    expect(costsOf(hour, 0, tariffs, TZ)).toMatchObject({ import: 0.5, fixed: Math.round((2.3 / 23) * 10_000) / 10_000 });
    // Before the first entry there is no price: that part is null, not 0.
    const early = emptyRow(Date.parse('2024-12-31T00:00:00+01:00'), Date.parse('2025-01-01T00:00:00+01:00'));
    expect(costsOf(early, 1, tariffs, TZ)).toEqual({ import: null, export: null, gas: null, fixed: null, total: 0 });
  });

  it('config check refuses invalid tariffs naming the key and line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'p1tariffs-'));
    try {
      const file = join(dir, 'config.yaml');
      await writeFile(file, 'tariffs:\n  import:\n    - from: 2025-01-01\n      t1: 0.2\n  gas:\n    - { from: 2025-02-30, price: 1 }\n');
      const result = await runCli(['config', 'check', file]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${file}:3: tariffs.import[0].t2: missing; allowed: either price, or both t1 and t2`);
      expect(result.stderr).toContain(`${file}:6: tariffs.gas[0].from = "2025-02-30": not a date`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
