import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/cli.js';

const run = promisify(execFile);

async function exec(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { ...options, maxBuffer: 16 * 1024 * 1024, timeout: 280_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * A checkout as a user has it on the Pi after `git clone` and `npm ci`, but without dist/: install.sh must build it.
 * (A copy, so the test neither depends on nor touches the repository's own dist/.)
 */
let checkout: string;
/** The "/" of the machine being installed: a directory with just enough of /etc for useradd --root. */
let root: string;
let work: string;

const install = (...args: string[]) => exec('bash', [join(checkout, 'deploy', 'install.sh'), '--root', root, ...args], { env: { ...process.env, DESTDIR: '' } });
const at = (path: string): string => join(root, path);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'p1install-'));
  checkout = join(work, 'checkout');
  root = join(work, 'root');
  await mkdir(checkout);
  const items = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'bin', 'deploy', 'node_modules'].filter((i) => existsSync(join(repoRoot, i)));
  const copied = await exec('cp', ['-a', ...items.map((i) => join(repoRoot, i)), checkout]);
  expect(copied.stderr).toBe('');
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(at('etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  await writeFile(at('etc/group'), 'root:x:0:\ndialout:x:20:\n');
  await writeFile(at('etc/shadow'), 'root:*:19000:0:99999:7:::\n', { mode: 0o640 });
  await writeFile(at('etc/gshadow'), 'root:*::\ndialout:*::\n', { mode: 0o640 });
}, 120_000);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

async function mode(path: string): Promise<string> {
  return ((await stat(path)).mode & 0o777).toString(8);
}

describe('deploy/install.sh into a temporary root', () => {
  // Building and copying node_modules takes minutes on a loaded 2-core machine.
  it('builds, then installs the app, unit, rule, user, example config and data directory', { timeout: 300_000 }, async () => {
    const result = await install();
    expect(result.stderr.replace(/useradd: Warning: missing or non-executable shell .*\n/, '')).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('building dist/');

    expect(existsSync(at('opt/p1logger/dist/cli.js'))).toBe(true);
    expect(await mode(at('opt/p1logger/bin/p1logger.js'))).toBe('755');
    expect(existsSync(at('opt/p1logger/src/http/static/app.js'))).toBe(true);
    expect(existsSync(at('opt/p1logger/node_modules/zod/package.json'))).toBe(true);
    expect(existsSync(at('opt/p1logger/node_modules/uplot/dist/uPlot.iife.min.js'))).toBe(true);
    // Production dependencies only.
    for (const dev of ['vitest', 'typescript', 'playwright-core', 'eslint']) expect(existsSync(at(`opt/p1logger/node_modules/${dev}`)), dev).toBe(false);

    expect(await readFile(at('etc/systemd/system/p1logger.service'), 'utf8')).toBe(await readFile(join(repoRoot, 'deploy/p1logger.service'), 'utf8'));
    expect(await readFile(at('etc/udev/rules.d/99-p1logger.rules'), 'utf8')).toBe(await readFile(join(repoRoot, 'deploy/99-p1logger.rules'), 'utf8'));
    expect((await lstat(at('etc/systemd/system/multi-user.target.wants/p1logger.service'))).isSymbolicLink()).toBe(true);
    expect((await lstat(at('usr/local/bin/p1logger'))).isSymbolicLink()).toBe(true);

    const passwd = await readFile(at('etc/passwd'), 'utf8');
    expect(passwd).toMatch(/^p1logger:x:\d+:\d+:[^:]*:\/var\/lib\/p1logger:\/usr\/sbin\/nologin$/m);
    expect(await readFile(at('etc/group'), 'utf8')).toMatch(/^dialout:x:20:p1logger$/m);

    expect(await readFile(at('etc/p1logger/config.yaml'), 'utf8')).toBe(await readFile(join(repoRoot, 'deploy/config.example.yaml'), 'utf8'));
    expect(await mode(at('etc/p1logger/config.yaml'))).toBe('640');
    expect(await mode(at('etc/p1logger/env'))).toBe('600');
    expect(await mode(at('etc/p1logger'))).toBe('750');
    const uid = Number(/^p1logger:x:(\d+):/m.exec(passwd)![1]);
    const data = await stat(at('var/lib/p1logger'));
    expect(data.uid).toBe(uid);
    expect((data.mode & 0o777).toString(8)).toBe('750');
  });

  it('the installed app runs with only its production dependencies: config check and the status page', async () => {
    const check = await exec(process.execPath, [at('opt/p1logger/bin/p1logger.js'), 'config', 'check', at('etc/p1logger/config.yaml')]);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('source: serial:/dev/p1?dsmr=auto');

    const script = `
      const { createStatusServer } = await import(${JSON.stringify(at('opt/p1logger/dist/http/server.js'))});
      const snapshot = { source: { description: 'x', state: 'open', reconnects: 0, bytes: 0 }, framer: { telegrams: 0, crcErrors: 0, invalid: 0, truncated: 0, junkBytes: 0 },
        lastTelegramAt: null, intervalSeconds: 10, queue: { records: 0, bytesOnDisk: 0, firstSeq: null, lastSeq: null, firstReceivedAt: null, lastReceivedAt: null }, sinks: [] };
      const server = await createStatusServer({ listen: '127.0.0.1:0', status: () => snapshot });
      const out = [];
      for (const path of ['/', '/static/app.js', '/static/app.css', '/static/uPlot.iife.min.js', '/static/uPlot.min.css', '/metrics']) {
        out.push(path + ' ' + (await fetch(server.url + path)).status);
      }
      await server.close();
      console.log(out.join('\\n'));`;
    const served = await exec(process.execPath, ['--input-type=module', '-e', script], { cwd: work });
    expect(served.stderr).toBe('');
    expect(served.stdout.trim().split('\n')).toEqual(['/ 200', '/static/app.js 200', '/static/app.css 200', '/static/uPlot.iife.min.js 200', '/static/uPlot.min.css 200', '/metrics 200']);
  });

  it('is idempotent: a second run keeps the edited config and the user, and replaces the app whole', { timeout: 300_000 }, async () => {
    await writeFile(at('etc/p1logger/config.yaml'), 'source: tcp:192.0.2.10:2001\n');
    await writeFile(at('opt/p1logger/stray-file'), 'left from an older version');
    const result = await install();
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('building dist/');
    expect(result.stdout).not.toContain('creating system user');
    expect(await readFile(at('etc/p1logger/config.yaml'), 'utf8')).toBe('source: tcp:192.0.2.10:2001\n');
    expect(existsSync(at('opt/p1logger/stray-file'))).toBe(false);
    expect(existsSync(at('opt/p1logger.new')) || existsSync(at('opt/p1logger.old'))).toBe(false);
    expect((await readFile(at('etc/passwd'), 'utf8')).match(/^p1logger:/gm)).toHaveLength(1);
    expect(await readFile(at('etc/group'), 'utf8')).toMatch(/^dialout:x:20:p1logger$/m);
  });

  it('--uninstall removes the app, unit and rule but keeps config, data and user; --purge removes those too', async () => {
    await writeFile(at('var/lib/p1logger/marker'), 'data');
    const result = await install('--uninstall');
    expect(result.code).toBe(0);
    for (const gone of ['opt/p1logger', 'etc/systemd/system/p1logger.service', 'etc/systemd/system/multi-user.target.wants/p1logger.service', 'etc/udev/rules.d/99-p1logger.rules', 'usr/local/bin/p1logger']) {
      expect(existsSync(at(gone)), gone).toBe(false);
    }
    expect(existsSync(at('etc/p1logger/config.yaml'))).toBe(true);
    expect(existsSync(at('var/lib/p1logger/marker'))).toBe(true);
    expect(await readFile(at('etc/passwd'), 'utf8')).toMatch(/^p1logger:/m);

    const purge = await install('--uninstall', '--purge');
    expect(purge.code).toBe(0);
    expect(existsSync(at('etc/p1logger'))).toBe(false);
    expect(existsSync(at('var/lib/p1logger'))).toBe(false);
    expect(await readFile(at('etc/passwd'), 'utf8')).not.toMatch(/^p1logger:/m);
  });

  it('installs into an empty directory (packaging): files in place, no user made up, one line saying what is left to do', { timeout: 300_000 }, async () => {
    const empty = join(work, 'empty-root');
    await mkdir(empty);
    const result = await exec('bash', [join(checkout, 'deploy', 'install.sh'), '--root', empty], { env: { ...process.env, DESTDIR: '' } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const path of ['opt/p1logger/dist/cli.js', 'etc/systemd/system/p1logger.service', 'etc/udev/rules.d/99-p1logger.rules', 'etc/p1logger/config.yaml', 'etc/p1logger/env', 'var/lib/p1logger']) {
      expect(existsSync(join(empty, path)), path).toBe(true);
    }
    expect((await lstat(join(empty, 'usr/local/bin/p1logger'))).isSymbolicLink()).toBe(true);
    // No /etc/passwd invented for the target: its user is created where the package is installed.
    expect(existsSync(join(empty, 'etc/passwd'))).toBe(false);
    expect(result.stdout.split('\n').filter((l) => l.includes('user p1logger'))).toEqual([
      `p1logger install: ${empty}/etc/passwd does not exist: the user p1logger (group dialout) is not created; on the target: useradd --system --user-group --groups dialout --home-dir /var/lib/p1logger --shell /usr/sbin/nologin p1logger && chown p1logger: /var/lib/p1logger && chgrp p1logger /etc/p1logger /etc/p1logger/config.yaml`,
    ]);
    expect(await mode(join(empty, 'etc/p1logger/env'))).toBe('600');
  });

  it('--help prints the usage and nothing of the script itself', async () => {
    const result = await exec('bash', [join(repoRoot, 'deploy', 'install.sh'), '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: sudo deploy/install.sh');
    expect(result.stdout).not.toMatch(/set -euo|^#/m);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toContain('for packaging and tests');
  });

  it('refuses unknown options with exit 2', async () => {
    const result = await install('--frobnicate');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown option --frobnicate');
  });
});
