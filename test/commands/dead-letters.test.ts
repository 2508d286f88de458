import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Queue } from '../../src/queue/queue.js';
import { runCli } from '../support/cli.js';
import { makeTelegram, makeTempDir } from '../queue/helpers.js';

let dir: string;
let server: Server;
let refuse = true;
const received: string[] = [];

beforeEach(async () => {
  dir = await makeTempDir();
  received.length = 0;
  refuse = true;
  // InfluxDB 1.x's /write as far as a sink sees it: 400 with a reason while "refusing", else 204. Its /query (the
  // sink's CREATE DATABASE) answers as for a user allowed to create the database.
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url?.startsWith('/query') === true) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"results":[{"statement_id":0}]}');
        return;
      }
      received.push(body);
      if (refuse) res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"partial write: field type conflict"}');
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

it('lists dead letters with their reasons, status counts them by reason, and --resend sends them again once fixed', async () => {
  const dataDir = join(dir, 'data');
  const queue = await Queue.open(dataDir, { retentionIntervalMs: 0, reserveBytes: 0 });
  const records = await Promise.all([1, 2, 3].map((i) => queue.append(makeTelegram(i), new Date(Date.UTC(2025, 0, 1, 0, 0, i)))));
  await queue.park('home', records[0]!, 'HTTP 400: field type conflict');
  await queue.park('home', records[2]!, 'HTTP 400: field type conflict');
  await queue.close();
  const config = join(dir, 'config.yaml');
  await writeFile(config, `dataDir: ${dataDir}\nsinks:\n  - name: home\n    url: influxdb-v1:http://127.0.0.1:${(server.address() as AddressInfo).port}?db=energy\n`);

  const listed = await runCli(['dead-letters', '--config', config]);
  expect(listed.code, listed.stderr).toBe(0);
  expect(JSON.parse(listed.stdout)).toEqual([
    { sink: 'home', seq: 1, reason: 'HTTP 400: field type conflict', parkedAt: expect.any(String) as string, receivedAt: '2025-01-01T00:00:01.000Z' },
    { sink: 'home', seq: 3, reason: 'HTTP 400: field type conflict', parkedAt: expect.any(String) as string, receivedAt: '2025-01-01T00:00:03.000Z' },
  ]);
  const status = await runCli(['status', '--data-dir', dataDir]);
  expect(JSON.parse(status.stdout)).toMatchObject({ sinks: [{ sink: 'home', deadLetters: 2, deadLetterReasons: { 'HTTP 400: field type conflict': 2 } }] });

  // Still refused: kept, with the server's new reason, exit 1.
  const stillBad = await runCli(['dead-letters', '--config', config, '--resend']);
  expect(stillBad.code, stillBad.stderr).toBe(1);
  const [report] = JSON.parse(stillBad.stdout) as Array<{ sink: string; resent: number; refused: Array<{ seq: number; reason: string }> }>;
  expect(report).toMatchObject({ sink: 'home', resent: 0 });
  expect(report!.refused.map((r) => r.seq)).toEqual([1, 3]);
  expect(report!.refused[0]!.reason).toContain('field type conflict');

  // Fixed on the server: both are accepted and leave the dead-letter range.
  refuse = false;
  received.length = 0;
  const fixed = await runCli(['dead-letters', '--config', config, '--resend']);
  expect(fixed.code, fixed.stderr).toBe(0);
  expect(JSON.parse(fixed.stdout)).toEqual([{ sink: 'home', resent: 2, refused: [] }]);
  expect(received).toHaveLength(2);
  expect(received.join('')).toContain('electricity');
  const after = await runCli(['dead-letters', '--config', config]);
  expect(JSON.parse(after.stdout)).toEqual([]);
});

it('--resend for a sink the configuration does not have is a usage error', async () => {
  const dataDir = join(dir, 'data');
  const queue = await Queue.open(dataDir, { retentionIntervalMs: 0, reserveBytes: 0 });
  await queue.close();
  const result = await runCli(['dead-letters', '--data-dir', dataDir, '--sink', 'nope', '--resend']);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('no sink named "nope"');
});
