import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { repoRoot } from '../support/cli.js';

const run = promisify(execFile);
const deploy = (name: string): string => join(repoRoot, 'deploy', name);

/** Runs a command, returning its exit code and output instead of throwing on a non-zero exit. */
async function exec(cmd: string, args: string[], options: { cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { ...options, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1deploy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('deploy/install.sh', () => {
  it('passes shellcheck', async () => {
    const result = await exec('shellcheck', ['--severity=style', deploy('install.sh')]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('deploy/p1logger.service', () => {
  function directives(text: string): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const line of text.split('\n')) {
      const m = /^([A-Za-z]+)=(.*)$/.exec(line);
      if (m !== null) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
    }
    return out;
  }

  it('passes systemd-analyze verify without a warning', async () => {
    // verify checks that ExecStart's program exists: /usr/bin/node, as on the Pi.
    const unit = join(dir, 'p1logger.service');
    await copyFile(deploy('p1logger.service'), unit);
    const result = await exec('systemd-analyze', ['verify', unit]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('fails verify for a broken copy (the check can fail)', async () => {
    const unit = join(dir, 'broken.service');
    await writeFile(unit, (await readFile(deploy('p1logger.service'), 'utf8')).replace('ProtectSystem=strict', 'ProtectSystem=very'));
    const result = await exec('systemd-analyze', ['verify', unit]);
    expect(result.stderr).toMatch(/broken\.service:\d+: Failed to parse protect system value/);
  });

  it('runs as its own user in dialout, restarts always, uses the watchdog with notify, sandboxed, logs to the journal', async () => {
    const d = directives(await readFile(deploy('p1logger.service'), 'utf8'));
    const one = (key: string): string | undefined => d.get(key)?.[0];
    expect(one('User')).toBe('p1logger');
    expect(one('SupplementaryGroups')).toBe('dialout');
    expect(one('Restart')).toBe('always');
    expect(one('Type')).toBe('notify');
    expect(one('NotifyAccess')).toBe('all');
    expect(Number(one('WatchdogSec'))).toBeGreaterThan(0);
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('ReadWritePaths')).toBe('/var/lib/p1logger');
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('PrivateTmp')).toBe('yes');
    expect(one('ProtectHome')).toBe('yes');
    expect(one('StandardOutput')).toBe('journal');
    expect(one('ExecStart')).toBe('/usr/bin/node --max-semi-space-size=8 --max-old-space-size=256 /opt/p1logger/bin/p1logger.js run --config /etc/p1logger/config.yaml');
    // PrivateDevices would hide /dev/ttyUSB0; MemoryDenyWriteExecute breaks V8's JIT.
    expect(d.has('PrivateDevices')).toBe(false);
    expect(d.has('MemoryDenyWriteExecute')).toBe(false);
    expect(d.get('DeviceAllow')).toContain('char-ttyUSB rw');
  });

  it('gets an exposure level of OK from systemd-analyze security', async () => {
    const unit = join(dir, 'p1logger.service');
    await copyFile(deploy('p1logger.service'), unit);
    const result = await exec('systemd-analyze', ['security', '--offline=true', '--no-pager', unit]);
    const m = /Overall exposure level for p1logger\.service: (\d+\.\d+) (\w+)/.exec(result.stdout + result.stderr);
    expect(m, result.stdout + result.stderr).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(3);
    expect(m![2]).toBe('OK');
  });
});

describe('deploy/99-p1logger.rules', () => {
  /**
   * udev's own parser: `udevadm test` (udevadm verify arrived in systemd 254; Debian 12 has 252) reads every rules
   * file, so it runs in a private mount namespace where /etc/udev/rules.d holds only the file under test.
   */
  async function udevParse(rules: string): Promise<string> {
    const rulesDir = await mkdtemp(join(dir, 'rules-'));
    await writeFile(join(rulesDir, '99-p1logger.rules'), rules);
    const script = `mount --bind "${rulesDir}" /etc/udev/rules.d && udevadm test --action=add /sys/class/tty/tty0 2>&1`;
    const result = await exec('unshare', ['--mount', 'sh', '-c', script]);
    expect(result.stdout).toContain('Reading rules file: /etc/udev/rules.d/99-p1logger.rules');
    return result.stdout.split('\n').filter((l) => l.includes('/etc/udev/rules.d/99-p1logger.rules:')).join('\n');
  }

  it("udev's parser reads it without a complaint, and complains about a broken copy", async () => {
    const rules = await readFile(deploy('99-p1logger.rules'), 'utf8');
    expect(await udevParse(rules)).toBe('');
    expect(await udevParse(rules.replace('SYMLINK+=', 'SYMLNK+='))).toMatch(/Invalid key/);
  });

  it('names FTDI 0403:6001 tty devices /dev/p1 in group dialout', async () => {
    const lines = (await readFile(deploy('99-p1logger.rules'), 'utf8')).split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(lines).toHaveLength(1);
    const pairs = [...lines[0]!.matchAll(/([A-Z_]+(?:\{[^}]+\})?)\s*(==|!=|\+=|:=|=)\s*"([^"]*)"/g)].map((m) => `${m[1]}${m[2]}${m[3]}`);
    expect(pairs).toEqual(
      expect.arrayContaining(['SUBSYSTEM==tty', 'ATTRS{idVendor}==0403', 'ATTRS{idProduct}==6001', 'SYMLINK+=p1', 'GROUP=dialout', 'MODE=0660']),
    );
  });
});

describe('deploy/config.example.yaml', () => {
  it('is a valid configuration for the Pi: serial /dev/p1, /var/lib/p1logger, loopback HTTP', async () => {
    const { config, warnings } = await loadConfig({ flags: { config: deploy('config.example.yaml') }, env: {}, defaultConfigPath: '/nonexistent' });
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({ source: 'serial:/dev/p1?dsmr=auto', dataDir: '/var/lib/p1logger', http: { listen: '127.0.0.1:8080' } });
  });

  it('its commented sink examples are valid too, with secrets only as references', async () => {
    const text = await readFile(deploy('config.example.yaml'), 'utf8');
    const uncommented = text.replace('sinks: []\n', '').replace(/^# (sinks:| {2})/gm, '$1');
    const path = join(dir, 'uncommented.yaml');
    await writeFile(path, uncommented);
    const { parsed } = await loadConfig({ flags: { config: path }, env: {}, defaultConfigPath: '/nonexistent', resolveSecrets: false });
    expect(parsed.sinks.map((s) => s.name)).toEqual(['influx', 'cloud', 'feed']);
    for (const sink of (parse(uncommented) as { sinks: Array<{ token?: unknown }> }).sinks) {
      if (sink.token !== undefined) expect(typeof sink.token).toBe('object');
    }
  });
});
