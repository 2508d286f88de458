import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../support/cli.js';
import { fixtureBytes, fixtureDir, telegramFiles } from '../support/fixtures.js';

describe('p1logger parse', () => {
  it('prints one JSON object per valid telegram, in stream order, and a summary on stderr', async () => {
    const files = telegramFiles();
    const capture = Buffer.concat([Buffer.from('noise'), ...files.map((f) => fixtureBytes(f))]);
    const result = await runCli(['parse', '-'], { input: capture });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { header: string; crc: string });
    expect(lines).toHaveLength(files.length);
    expect(lines[files.indexOf('V5.txt')]).toMatchObject({ header: 'ISk5\\2MT382-1000', crc: 'ok' });
    expect(result.stderr).toContain(`telegrams ok: ${files.length}, CRC errors: 0, invalid: 0, truncated: 0, junk bytes: ${5 + 47 + 47}`);
  });

  it('reads a file given as argument and reports a CRC error on stderr without printing it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'p1-parse-'));
    try {
      const bad = fixtureBytes('V5.txt').toString('latin1').replace('0230.0*V', '0231.0*V');
      const file = path.join(dir, 'capture.txt');
      writeFileSync(file, Buffer.concat([Buffer.from(bad, 'latin1'), fixtureBytes('V4_2.txt')]));
      const result = await runCli(['parse', file]);
      expect(result.code).toBe(0);
      expect(result.stdout.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/rejected telegram \(P1_CRC_MISMATCH\): CRC mismatch: telegram says 6EEE, bytes give [0-9A-F]{4}/);
      expect(result.stderr).toContain('CRC errors: 1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 when nothing parsed', async () => {
    const result = await runCli(['parse', '-'], { input: 'no telegram here' });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('telegrams ok: 0');
  });

  it('a missing file is a clear one-line error, exit 2', async () => {
    const result = await runCli(['parse', path.join(fixtureDir, 'nope.txt')]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([`p1logger parse: P1_FILE_NOT_FOUND: no such file: ${path.join(fixtureDir, 'nope.txt')}`]);
  });

  it('an unknown option is a usage error, exit 2', async () => {
    const result = await runCli(['parse', '--bogus']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown option '--bogus'");
  });
});

describe('p1logger parse --time-zone', () => {
  it('reads DSMR 2.2 times in the given zone, and refuses a zone that does not exist', async () => {
    const ok = await runCli(['parse', '--time-zone', 'Europe/London', '-'], { input: fixtureBytes('V2_2.txt') });
    const parsed = JSON.parse(ok.stdout) as { objects: Record<string, { time?: string }> };
    expect(parsed.objects['0-1:24.3.0']?.time).toBe('2016-11-07T19:00:00+00:00');
    const bad = await runCli(['parse', '--time-zone', 'Mars/Olympus', '-'], { input: '' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--time-zone: "Mars/Olympus" is not a tz database zone');
  });
});
