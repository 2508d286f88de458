import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildServer, ServerInDirectory } from './child-server.js';
import { freePort } from './free-port.js';

/** One series of /api/v1/export: its labels, values and times (ms). */
export interface VmSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

/**
 * A real VictoriaMetrics (Debian's `victoria-metrics`) on 127.0.0.1 with its data in a temp dir, a retention of
 * 100 years (the default one month would silently drop the old readings a backfill sends), and deduplication of
 * samples with the same timestamp (so a re-send replaces, as in InfluxDB).
 */
export class Victoria extends ServerInDirectory {
  readonly url: string;
  private constructor(dir: string, port: number, server: ChildServer) {
    super(dir, port, server);
    this.url = `http://127.0.0.1:${port}`;
  }

  /** `args`: more flags, e.g. `-httpAuth.username=...` for a server that wants Basic auth (ready at 401 then). */
  static async start(options: { args?: string[] } = {}): Promise<Victoria> {
    const dir = await mkdtemp(join(tmpdir(), 'p1logger-vm-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = new ChildServer(
      'victoria-metrics',
      [
        `-httpListenAddr=127.0.0.1:${port}`,
        `-storageDataPath=${dir}/data`,
        '-retentionPeriod=100y',
        // As the README advises: without it VictoriaMetrics keeps every copy of a re-sent sample.
        '-dedup.minScrapeInterval=1ms',
        '-loggerLevel=ERROR',
        ...(options.args ?? []),
      ],
      async () => {
        const response = await fetch(`${url}/health`);
        return response.ok || response.status === 401;
      },
      'victoria-metrics',
    );
    try {
      await server.start();
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return new Victoria(dir, port, server);
  }

  /** Series matching a selector, e.g. `{__name__=~"electricity_.*"}`, after flushing what was just written. */
  async export(match: string): Promise<VmSeries[]> {
    await fetch(`${this.url}/internal/force_flush`);
    const params = new URLSearchParams({ 'match[]': match, start: '0' });
    const response = await fetch(`${this.url}/api/v1/export?${params.toString()}`);
    if (!response.ok) throw new Error(`victoria-metrics export: HTTP ${response.status} ${await response.text()}`);
    const text = await response.text();
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as VmSeries);
  }
}
