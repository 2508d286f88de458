import { P1Error } from '../errors.js';

/**
 * An error as a command prints it: `CODE: message`, the code stable (README "Error codes"). Errors that are not
 * P1Errors are bugs or surprises from below (a library, the OS): their own code when they have one (ENOENT), else
 * P1_INTERNAL. Never a stack: `--log-level debug` logs that.
 */
export function errorLine(error: unknown): string {
  if (error instanceof P1Error) return `${error.code}: ${error.message}`;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return `${typeof code === 'string' && code !== '' ? code : 'P1_INTERNAL'}: ${message}`;
}
