import { createServer, type Server } from 'node:http';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, effectiveConfigYaml, loadConfig } from '../../src/config.js';
import { describeSinkSpec, parseSinkSpec, redactUrl } from '../../src/sinks/spec.js';
import { watchCli } from '../support/cli.js';
import { until } from '../sources/log-capture.js';

/**
 * User info in a sink URL is masked completely wherever a URL is shown, whatever characters the password holds.
 * Each password is made of distinctive words joined by the nasty character, so a partial mask (the part after
 * an "@", the part before a "/") shows up as one of the words.
 */
const USER = 'Zuluuser';
const NASTY: Array<{ name: string; password: string; typedMeans?: string }> = [
  { name: '@', password: 'Alfa1@Bravo1@Charlie1' },
  { name: ':', password: 'Alfa2:Bravo2:Charlie2' },
  { name: '/', password: 'Alfa3/Bravo3/Charlie3' },
  { name: '%', password: 'Alfa4%Bravo4%zzCharlie4' },
  // Typed into a URL, a percent escape means the character it encodes (URL rules).
  { name: 'a percent escape', password: 'Alfa5%40Bravo5', typedMeans: 'Alfa5@Bravo5' },
  { name: '#', password: 'Alfa6#Bravo6#Charlie6' },
  { name: '?', password: 'Alfa7?Bravo7=Charlie7' },
  { name: 'spaces', password: 'Alfa8 Bravo8  Charlie8' },
  { name: 'unicode', password: 'Älfa9€Bravø9✓Charlie9' },
  { name: 'quotes', password: `Alfa10"Bravo10'Charlie10` },
  { name: 'backslashes', password: 'Alfa11\\Bravo11\\Charlie11' },
  { name: 'newlines', password: 'Alfa12\nBravo12\r\nCharlie12' },
  { name: '& and =', password: 'Alfa13&db=Bravo13&Charlie13' },
];

/** The words of a password (and the user name): none of them may appear in anything shown. */
function words(password: string, withUser = true): string[] {
  return [...(withUser ? [USER] : []), ...password.split(/[^\p{L}\p{N}]+/u).filter((w) => w.length >= 4)];
}

function url(userinfo: string): string {
  return `influxdb-v1:http://${userinfo}@127.0.0.1:8086?db=energy`;
}

const forms = NASTY.flatMap(({ name, password, typedMeans }) => [
  { name: `${name}, as typed`, password, means: typedMeans ?? password, spec: url(`${USER}:${password}`) },
  { name: `${name}, percent-encoded`, password, means: password, spec: url(`${USER}:${encodeURIComponent(password)}`) },
]);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1mask-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function expectNoWords(text: string, password: string, withUser = true): void {
  for (const word of words(password, withUser)) expect(text, `"${word}" shown in:\n${text}`).not.toContain(word);
}

describe('URLs are shown with their user info masked, whatever the password holds', () => {
  it.each(forms)('$name: spec errors, descriptions, redactUrl', ({ spec, password, means }) => {
    expectNoWords(redactUrl(spec), password);
    try {
      const parsed = parseSinkSpec(spec);
      expectNoWords(describeSinkSpec(parsed), password);
      // What was accepted is what the user meant: the server gets the password whole.
      if (parsed.kind === 'influxdb-v1') expect(parsed.password).toBe(means);
    } catch (error) {
      expect((error as { code?: string }).code).toBe('P1_SINK_SPEC');
      expectNoWords((error as Error).message, password);
    }
  });

  it.each(forms)('$name: config check (flag and file), effective configuration or problem list', async ({ spec, password, means }) => {
    const path = join(dir, 'c.yaml');
    await writeFile(path, `sinks:\n  - name: home\n    url: ${JSON.stringify(spec)}\n`);
    await chmod(path, 0o600);
    for (const flags of [{ sink: [`home=${spec}`] }, { config: path }]) {
      for (const resolveSecrets of [true, false]) {
        const loaded = await loadConfig({ flags, env: {}, defaultConfigPath: '/nonexistent', resolveSecrets }).catch((error: unknown) => {
          expect(error).toBeInstanceOf(ConfigError);
          expectNoWords((error as Error).message, password);
          return null;
        });
        if (loaded === null) continue;
        expectNoWords(effectiveConfigYaml(loaded.parsed), password);
        // The configuration can be logged whole: the password left the URL for a Secret (the user name is no secret).
        expectNoWords(`${JSON.stringify(loaded.config)}\n${inspect(loaded.config, { depth: 9 })}`, password, false);
        if (resolveSecrets) expect(loaded.config.sinks[0]!.password!.reveal()).toBe(means);
        expect(loaded.config.sinks[0]!.url).toBe('influxdb-v1:http://127.0.0.1:8086?db=energy');
      }
    }
  });

  it('a URL with whitespace is refused and not echoed in full', async () => {
    const spec = 'influxdb:http://127.0.0.1:8086?org=o&bucket=b token=Sekrit-Tail-Word';
    const error: unknown = await loadConfig({ flags: { sink: [spec] }, env: {}, defaultConfigPath: '/nonexistent' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]!.problem).toMatch(/whitespace/);
    expect((error as Error).message).not.toContain('Sekrit');
  });
});

describe('the running service shows no user info: logs, errors, /api/status, the page, /metrics', () => {
  let refusing: Server;
  let port: number;
  const cleanups: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    // A server that refuses every write, so each sink logs and shows its error.
    refusing = createServer((req, res) => {
      req.resume();
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'authorization failed' }));
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    port = (refusing.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await new Promise((resolve) => refusing.close(resolve));
  });

  it('with one sink per password that parses', async () => {
    const accepted = forms.filter(({ spec }) => {
      try {
        parseSinkSpec(spec);
        return true;
      } catch {
        return false;
      }
    });
    // Every nasty character can be used: percent-encoded if not as typed.
    expect(new Set(accepted.map((f) => f.password)).size).toBe(NASTY.length);
    const sinks = accepted.map((f, i) => `s${i}=${f.spec.replace('127.0.0.1:8086', `127.0.0.1:${port}`)}`);
    const dataDir = join(dir, 'data');
    const cli = watchCli(['run', '--source', 'simulate?interval=0.05', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...sinks.flatMap((s) => ['--sink', s])], cleanups);
    await until(() => /status page listening/.test(cli.stdout()), 30_000, 'the status page');
    const base = /"url":"(http:\/\/127\.0\.0\.1:\d+)\//.exec(cli.stdout())![1]!;
    await until(() => (cli.stdout().match(/sink refuses p1logger/g) ?? []).length >= accepted.length, 30_000, 'every sink to report its error');
    const shown = [cli.stdout(), cli.stderr()];
    for (const path of ['/api/status', '/', '/metrics', '/healthz']) shown.push(await (await fetch(`${base}${path}`)).text());
    cli.child.kill('SIGTERM');
    expect(await cli.exit).toBe(0);
    shown.push(cli.stdout(), cli.stderr());
    const all = shown.join('\n');
    for (const { password } of accepted) expectNoWords(all, password);
    // The sinks are there, by name and host.
    expect(all).toContain(`influxdb-v1:http://127.0.0.1:${port}?db=energy`);
  });
});
