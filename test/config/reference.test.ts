import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFields, configReferenceMarkdown } from '../../src/config.js';
import { repoRoot } from '../support/cli.js';

const START = '<!-- config-reference:start -->';
const END = '<!-- config-reference:end -->';

describe('README configuration reference', () => {
  it('lists every key of the schema with its variable, default and allowed values', () => {
    const table = configReferenceMarkdown();
    for (const field of configFields()) {
      expect(table).toContain(`| \`${field.key}\` |`);
      if (field.env !== null) expect(table).toContain(`\`${field.env}\``);
    }
    expect(table).toContain('| `http.listen` | `P1LOGGER_HTTP_LISTEN` | `--listen` | `127.0.0.1:8080` |');
  });

  it('README.md holds exactly the table generated from the schema (node --import tsx scripts/config-reference.ts)', async () => {
    const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    expect(start, `README.md has no ${START} marker`).toBeGreaterThanOrEqual(0);
    expect(end, `README.md has no ${END} marker`).toBeGreaterThan(start);
    expect(readme.slice(start + START.length, end).trim()).toBe(configReferenceMarkdown().trim());
  });
});
