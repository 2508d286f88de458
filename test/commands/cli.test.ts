import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../support/cli.js';

describe('p1logger (the program itself)', () => {
  it('--version prints the version of package.json and exits 0', async () => {
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const result = await runCli([flag]);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`${version}\n`);
    }
  });

  it('every --help and the README give the same config lookup order', { timeout: 240_000 }, async () => {
    const readme = (await readFile(join(repoRoot, 'README.md'), 'utf8')).replace(/\s+/g, ' ');
    expect(readme).toContain('p1logger reads one YAML file: `--config FILE`, else `$P1LOGGER_CONFIG`, else `/etc/p1logger/config.yaml` when it exists; with none it runs the embedded default');
    for (const command of [['run'], ['status'], ['export'], ['import'], ['backfill'], ['config', 'check']]) {
      const help = (await runCli([...command, '--help'])).stdout.replace(/\s+/g, ' ');
      expect(help, command.join(' ')).toContain('default: $P1LOGGER_CONFIG, else /etc/p1logger/config.yaml when it exists, else the embedded default');
    }
  });
});
