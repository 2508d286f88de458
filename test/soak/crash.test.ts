import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isP1Error } from '../../src/errors.js';
import { Queue } from '../../src/queue/queue.js';
import { TelegramFramer } from '../../src/telegram/frame.js';
import { spawnCli } from '../support/cli.js';
import { makeTelegram } from '../queue/helpers.js';

/**
 * Crash safety, for real: `p1logger run` as a child process, killed with SIGKILL at random moments, restarted on
 * the same data directory. 20 rounds in the normal suite, 200 with SOAK=1 (`npm run soak`). Even rounds replay a
 * capture file as fast as it goes (appends share fsynced batches), odd rounds run the simulator at 100 telegrams/s
 * (one fsynced write each). After every round the database opens; its seqs run 1..last with no gap and no
 * duplicate; every telegram the child reported as stored is there, with the same bytes.
 */
const ROUNDS = process.env.SOAK === '1' ? 200 : 20;
const CAPTURE_TELEGRAMS = 20_000;

let dir: string;
let capture: string;
const captureHashes = new Set<string>();
const children = new Set<ChildProcess>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1logger-crash-'));
  capture = join(dir, 'capture.txt');
  const telegrams: string[] = [];
  for (let i = 0; i < CAPTURE_TELEGRAMS; i++) {
    const raw = makeTelegram(i);
    telegrams.push(raw);
    captureHashes.add(sha256(raw));
  }
  await writeFile(capture, telegrams.join(''), 'latin1');
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

function sha256(raw: string): string {
  return createHash('sha256').update(raw, 'latin1').digest('hex');
}

interface Round {
  stored: Map<number, string>;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the child until it has reported `killAfterStored` telegrams (or `killAfterMs` passed), then SIGKILLs it. */
function crashRound(source: string, dataDir: string, kill: { afterStored: number } | { afterMs: number }): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(['run', '--source', source, '--data-dir', dataDir], {
      env: { ...process.env, P1LOGGER_REPORT_STORED: '1', P1LOGGER_LOG_LEVEL: 'warn', P1LOGGER_HTTP_LISTEN: '127.0.0.1:0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(child);
    const stored = new Map<number, string>();
    let pending = '';
    let other = '';
    const killNow = (): void => {
      child.kill('SIGKILL');
    };
    const timer = setTimeout(killNow, 'afterMs' in kill ? kill.afterMs : 20_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const m = /^stored (\d+) ([0-9a-f]{64})$/.exec(line);
        if (m) stored.set(Number(m[1]), m[2]!);
        else other += `${line}\n`;
      }
      if ('afterStored' in kill && stored.size >= kill.afterStored) killNow();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ stored, code, signal, stderr: other });
    });
  });
}

it(`SIGKILL at random moments, ${ROUNDS} times: no gap, no duplicate, nothing reported as stored is lost`, { timeout: ROUNDS * 15_000 }, async () => {
  const dataDir = join(dir, 'data');
  const reported = new Map<number, string>();
  let lastSeq = 0;
  let killedWhileStoring = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const source = round % 2 === 0 ? `file:${capture}?rate=fast` : 'simulate?interval=0.01';
    // A quarter of the rounds die at a random time from spawn (start-up, opening, recovering the log included).
    const kill = Math.random() < 0.25 ? { afterMs: Math.floor(Math.random() * 1500) } : { afterStored: 1 + Math.floor(Math.random() * (round % 2 === 0 ? 3000 : 60)) };
    const result = await crashRound(source, dataDir, kill);
    // Killed, or (rarely) finished the file: never a failure of its own.
    expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual(
      result.signal === 'SIGKILL' ? { code: null, signal: 'SIGKILL', stderr: '' } : { code: 0, signal: null, stderr: '' },
    );
    if (result.stored.size > 0) killedWhileStoring++;
    for (const [seq, hash] of result.stored) {
      expect(seq, 'a seq is never handed out twice').toBeGreaterThan(lastSeq);
      reported.set(seq, hash);
    }

    let queue: Queue;
    try {
      queue = await Queue.open(dataDir, { readOnly: true });
    } catch (error) {
      // Killed before it had created the database: allowed only while nothing was ever stored.
      if (isP1Error(error, 'P1_FILE_NOT_FOUND') && lastSeq === 0 && reported.size === 0) continue;
      throw error;
    }
    try {
      const records = await queue.readAfter(0, Number.MAX_SAFE_INTEGER);
      const seqs = records.map((r) => r.seq);
      expect(seqs[0] ?? 1).toBe(1);
      expect(seqs.every((seq, i) => seq === i + 1), `round ${round}: seqs 1..${seqs.length} without gap or duplicate`).toBe(true);
      for (const [seq, hash] of reported) {
        const record = records[seq - 1];
        expect(record && sha256(record.raw), `round ${round}: reported seq ${seq}`).toBe(hash);
      }
      // What this round added: telegrams of the capture, byte for byte, or whole simulated telegrams with their CRC.
      for (const record of records.slice(lastSeq)) {
        if (round % 2 === 0) expect(captureHashes.has(sha256(record.raw))).toBe(true);
        else expect(new TelegramFramer().push(Buffer.from(record.raw, 'latin1'))).toEqual([{ type: 'telegram', raw: record.raw, crc: 'ok' }]);
      }
      lastSeq = seqs.length;
    } finally {
      await queue.close();
    }
  }
  expect(reported.size).toBeGreaterThan(0);
  expect(killedWhileStoring).toBeGreaterThan(ROUNDS / 2);
});
