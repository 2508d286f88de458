import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Queue } from '../../src/queue/queue.js';
import { runCli } from '../support/cli.js';
import { makeTelegram, makeTempDir } from '../queue/helpers.js';

let dir: string;

beforeEach(async () => {
  dir = await makeTempDir();
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('p1logger repair mends an empty CURRENT by hand, then status reads the queue whole', async () => {
  const dataDir = join(dir, 'data');
  const queue = await Queue.open(dataDir, { retentionIntervalMs: 0, reserveBytes: 0 });
  for (let i = 0; i < 50; i++) await queue.append(makeTelegram(i));
  await queue.close();
  await writeFile(join(dataDir, 'queue', 'CURRENT'), '');

  const before = await runCli(['status', '--data-dir', dataDir]);
  expect(before.code).toBe(1);
  expect(before.stderr).toContain(`p1logger repair --data-dir ${dataDir}`);

  const repaired = await runCli(['repair', '--data-dir', dataDir]);
  expect(repaired.code, repaired.stderr).toBe(0);
  expect(JSON.parse(repaired.stdout)).toMatchObject({ dataDir, action: 'repaired', records: 50, unreadable: 0, movedTo: null });
  expect(repaired.stderr).toContain('trying LevelDB repair');

  const after = await runCli(['status', '--data-dir', dataDir]);
  expect(after.code, after.stderr).toBe(0);
  expect(JSON.parse(after.stdout)).toMatchObject({ records: 50, lastSeq: 50 });
  const again = await runCli(['repair', '--data-dir', dataDir]);
  expect(JSON.parse(again.stdout)).toMatchObject({ action: 'none', records: 50 });
});

it('p1logger repair on a directory without a queue is a usage error and creates nothing', async () => {
  const result = await runCli(['repair', '--data-dir', join(dir, 'nothing')]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('no queue in data directory');
});
