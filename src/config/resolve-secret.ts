import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SubjectError } from '../errors.js';
import type { SecretRef } from './schema.js';
import { Secret } from './secret.js';

export interface SecretContext {
  env: NodeJS.ProcessEnv;
  /** The config file the inline secret came from, and its mode: an inline secret needs a file others cannot read. */
  configFile: { path: string; mode: number } | null;
  cwd: string;
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/** Turns a secret reference into its value; the value itself never appears in an error. */
export async function resolveSecret(ref: SecretRef, key: string, ctx: SecretContext): Promise<Secret> {
  if (typeof ref === 'string') {
    const file = ctx.configFile;
    if (file !== null && (file.mode & 0o007) !== 0) {
      throw new SubjectError(
        'P1_SECRET_FILE_MODE',
        key,
        `an inline secret in ${file.path}, which any user can read (mode ${octal(file.mode)}): ` +
          `run "chmod o-rwx ${file.path}", or use { env: VARIABLE } or { file: PATH }`,
      );
    }
    return new Secret(ref, file === null ? 'inline' : `inline in ${file.path}`);
  }
  if ('env' in ref) {
    const value = ctx.env[ref.env];
    if (value === undefined || value === '') {
      throw new SubjectError(
        'P1_CONFIG_INVALID',
        key,
        `environment variable ${ref.env} is not set (allowed: { env: VARIABLE } naming a variable that is set, ` +
          'e.g. in /etc/p1logger/env for the systemd unit, or { file: PATH })',
      );
    }
    return new Secret(value, `env ${ref.env}`);
  }
  const path = resolve(ctx.cwd, ref.file);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SubjectError('P1_FILE_NOT_FOUND', key, `secret file ${path} does not exist`, { cause: error });
    throw new SubjectError('P1_CONFIG_INVALID', key, `secret file ${path} cannot be read (${code ?? String(error)}); it must be readable by the user p1logger runs as`, { cause: error });
  }
  try {
    // fstat on the open file: the mode checked is the mode of the file read.
    const stat = await handle.stat();
    if (!stat.isFile()) throw new SubjectError('P1_CONFIG_INVALID', key, `secret file ${path} is not a regular file`);
    if ((stat.mode & 0o077) !== 0) {
      throw new SubjectError(
        'P1_SECRET_FILE_MODE',
        key,
        `secret file ${path} is readable by group or others (mode ${octal(stat.mode)}): run "chmod 600 ${path}" (owned by the user p1logger runs as)`,
      );
    }
    const value = (await handle.readFile('utf8')).replace(/\r?\n$/, '');
    if (value === '') throw new SubjectError('P1_CONFIG_INVALID', key, `secret file ${path} is empty`);
    return new Secret(value, `file ${path}`);
  } finally {
    await handle.close();
  }
}

/**
 * The value of `NAME` from the environment, else from the file `NAME_FILE` names (systemd's LoadCredential= and
 * Docker secrets work that way). A file readable by group or others is refused with P1_SECRET_FILE_MODE.
 */
export async function secretFromEnv(name: string, ctx: { env: NodeJS.ProcessEnv; cwd: string }): Promise<string | undefined> {
  const value = ctx.env[name];
  if (value !== undefined && value !== '') return value;
  const file = ctx.env[`${name}_FILE`];
  if (file === undefined || file === '') return undefined;
  const secret = await resolveSecret({ file }, `${name}_FILE`, { env: ctx.env, cwd: ctx.cwd, configFile: null });
  return secret.reveal();
}
