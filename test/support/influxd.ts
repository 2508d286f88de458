import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildServer, ServerInDirectory } from './child-server.js';
import { freePort } from './free-port.js';

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/**
 * A real InfluxDB 1.6 (Debian's `influxd`) on 127.0.0.1 with its data in a temp dir: started once per test file,
 * stopped and started again (same ports, same data) for outage tests, removed by close().
 */
export class Influxd extends ServerInDirectory {
  readonly url: string;
  private constructor(
    dir: string,
    port: number,
    server: ChildServer,
    private readonly admin: { username: string; password: string } | undefined,
  ) {
    super(dir, port, server);
    this.url = `http://127.0.0.1:${port}`;
  }

  /** `admin`: authentication on, with this admin user (created first, as InfluxDB 1.x allows while it has none). */
  static async start(options: { admin?: { username: string; password: string } } = {}): Promise<Influxd> {
    const dir = await mkdtemp(join(tmpdir(), 'p1logger-influxd-'));
    const port = await freePort();
    const rpcPort = await freePort();
    const config = join(dir, 'influxdb.conf');
    await writeFile(
      config,
      [
        'reporting-disabled = true',
        `bind-address = "127.0.0.1:${rpcPort}"`,
        '[meta]',
        `  dir = "${dir}/meta"`,
        '[data]',
        `  dir = "${dir}/data"`,
        `  wal-dir = "${dir}/wal"`,
        '  query-log-enabled = false',
        '[http]',
        `  bind-address = "127.0.0.1:${port}"`,
        '  log-enabled = false',
        `  auth-enabled = ${options.admin === undefined ? 'false' : 'true'}`,
        '[monitor]',
        '  store-enabled = false',
        '[continuous_queries]',
        '  enabled = false',
        '[subscriber]',
        '  enabled = false',
        '[logging]',
        '  level = "warn"',
        '',
      ].join('\n'),
    );
    const url = `http://127.0.0.1:${port}`;
    const server = new ChildServer('influxd', ['-config', config], async () => (await fetch(`${url}/ping`)).status === 204, 'influxd');
    const influxd = new Influxd(dir, port, server, options.admin);
    try {
      await server.start();
      if (options.admin !== undefined) await createFirstAdmin(url, options.admin);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return influxd;
  }

  async createDatabase(name: string): Promise<void> {
    await this.query(`CREATE DATABASE "${name}"`);
  }

  /** InfluxQL through POST /query; times in RFC 3339. Returns the series of the first statement. */
  async query(q: string, db?: string, auth?: { username: string; password: string }): Promise<InfluxSeries[]> {
    const params = new URLSearchParams({ q });
    if (db !== undefined) params.set('db', db);
    const user = auth ?? this.admin;
    const headers: Record<string, string> = user === undefined ? {} : { authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}` };
    const response = await fetch(`${this.url}/query`, { method: 'POST', body: params, headers });
    const body = (await response.json()) as { results?: Array<{ series?: InfluxSeries[]; error?: string }>; error?: string };
    const result = body.results?.[0];
    if (!response.ok || body.error !== undefined || result?.error !== undefined) {
      throw new Error(`influxd query ${q}: HTTP ${response.status} ${body.error ?? result?.error ?? ''}`);
    }
    return result?.series ?? [];
  }

  /** Rows of `SELECT * FROM measurement` as objects keyed by column (time as RFC 3339 UTC). */
  async rows(db: string, measurement: string): Promise<Array<Record<string, unknown>>> {
    const series = await this.query(`SELECT * FROM "${measurement}"`, db);
    return series.flatMap((s) => s.values.map((row) => Object.fromEntries(s.columns.map((c, i) => [c, row[i]]))));
  }
}

/**
 * The first user, an admin (the only query influxd takes without credentials once auth is on). Answered ping is
 * not always ready for it on a loaded machine: asked again until influxd says it was created.
 */
async function createFirstAdmin(url: string, admin: { username: string; password: string }): Promise<void> {
  const q = `CREATE USER "${admin.username}" WITH PASSWORD '${admin.password}' WITH ALL PRIVILEGES`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const response = await fetch(`${url}/query`, { method: 'POST', body: new URLSearchParams({ q }) });
    const body = (await response.json().catch(() => ({}))) as { results?: Array<{ error?: string }>; error?: string };
    const error = body.error ?? body.results?.[0]?.error;
    if (response.ok && (error === undefined || /already exists/.test(error))) return;
    if (Date.now() > deadline) throw new Error(`influxd: creating the admin user failed: HTTP ${response.status} ${error ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
