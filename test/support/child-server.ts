import { rm } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';

/**
 * A server binary run as a child process that tests can stop and start again on the same ports and data
 * (an outage), or SIGKILL. Output is kept (last 64 KB) for the error message when it does not come up.
 */
export class ChildServer {
  private child: ChildProcess | undefined;
  private output = '';

  constructor(
    private readonly command: string,
    private readonly args: string[],
    private readonly ready: () => Promise<boolean>,
    private readonly label: string,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    if (this.running) return;
    const child = spawn(this.command, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString()).slice(-65_536);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    await spawned;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.label} exited while starting (code ${child.exitCode}):\n${this.output}`);
      if (await this.ready().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.kill();
    throw new Error(`${this.label} did not become ready within ${timeoutMs} ms:\n${this.output}`);
  }

  /** SIGTERM and wait for the exit (SIGKILL after 10 s). */
  async stop(): Promise<void> {
    await this.signal('SIGTERM', 10_000);
  }

  /** SIGKILL and wait for the exit. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL', 10_000);
  }

  private async signal(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * A test's server with a temp directory of its own: stopped and started again on the same port and data (an
 * outage), killed, and removed with its directory by close().
 */
export abstract class ServerInDirectory {
  protected constructor(
    readonly dir: string,
    readonly port: number,
    protected readonly server: ChildServer,
  ) {}

  get pid(): number | undefined {
    return this.server.pid;
  }

  get running(): boolean {
    return this.server.running;
  }

  /** Starts it again after stop()/kill(), on the same port with the same data. */
  start(): Promise<void> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  kill(): Promise<void> {
    return this.server.kill();
  }

  async close(): Promise<void> {
    await this.server.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}
