import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Two connected pseudo-terminals made by a real socat process:
 * `socat -d -d pty,raw,echo=0,link=<dir>/reader pty,raw,echo=0,link=<dir>/meter`.
 * p1logger opens `reader` like a USB serial adapter; the test plays the meter by writing to `meter`.
 * A pty ignores baud rate and parity, so "7E1" is emulated by setting the parity bit on the bytes written.
 */
export class SocatPair {
  readonly reader: string;
  readonly meter: string;
  private child: ChildProcess | undefined;
  private meterHandle: FileHandle | undefined;
  private feeder: NodeJS.Timeout | undefined;

  private constructor(readonly dir: string) {
    this.reader = join(dir, 'reader');
    this.meter = join(dir, 'meter');
  }

  static async start(): Promise<SocatPair> {
    const pair = new SocatPair(await mkdtemp(join(tmpdir(), 'p1logger-socat-')));
    await pair.startSocat();
    return pair;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts socat (again); resolves once both links exist and data flows. */
  async startSocat(): Promise<void> {
    if (this.child) throw new Error('socat is already running');
    const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${this.reader}`, `pty,raw,echo=0,link=${this.meter}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`socat did not start: ${log}`)), 5000);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.stderr?.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('starting data transfer loop')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    this.meterHandle = await open(this.meter, constants.O_RDWR | constants.O_NOCTTY);
  }

  /** Writes bytes as the meter; false when socat is down (the write failed). */
  async write(bytes: Buffer | string): Promise<boolean> {
    const handle = this.meterHandle;
    if (!handle) return false;
    try {
      await handle.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
      return true;
    } catch {
      return false;
    }
  }

  /** Writes `next()` every `everyMs` like a meter (surviving socat restarts) until stopFeeding(). */
  feed(next: () => Buffer | string, everyMs: number): void {
    this.stopFeeding();
    let busy = false;
    this.feeder = setInterval(() => {
      if (busy) return;
      busy = true;
      void this.write(next()).finally(() => {
        busy = false;
      });
    }, everyMs);
  }

  stopFeeding(): void {
    clearInterval(this.feeder);
    this.feeder = undefined;
  }

  /** SIGKILL: the ptys vanish mid-stream, as when a USB adapter is pulled out. The links stay, dangling. */
  async kill(): Promise<void> {
    const child = this.child;
    const handle = this.meterHandle;
    this.meterHandle = undefined;
    // socat first: a write blocked on a pty nobody reads (the buffer full) only returns once socat is gone, and
    // closing the handle waits for it.
    if (child) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
      this.child = undefined;
    }
    await handle?.close().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopFeeding();
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** 7E1 bytes as a pty carries them: bit 7 is the even parity bit of the 7 data bits. */
export function withEvenParity(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]! & 0x7f;
    let ones = 0;
    for (let x = b; x !== 0; x >>= 1) ones += x & 1;
    out[i] = ones % 2 === 1 ? b | 0x80 : b;
  }
  return out;
}
