import { P1Error } from '../errors.js';

const NOT_WRITABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST']);

/**
 * Turns what classic-level reports when a database does not open (LEVEL_DATABASE_NOT_OPEN, the real reason in
 * `cause`) into the P1Error a user can act on. `dataDir` is what the user gave; `dbDir` is the LevelDB inside it.
 */
export function openError(dataDir: string, dbDir: string, error: unknown): P1Error {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = cause instanceof Error ? (cause as NodeJS.ErrnoException).code : undefined;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (code === 'LEVEL_LOCKED' || /lock .*LOCK: (already held|Resource temporarily unavailable)/.test(message)) {
    return new P1Error(
      'P1_QUEUE_LOCKED',
      `data directory ${dataDir} is in use by another process (LevelDB lock ${dbDir}/LOCK is held): ` +
        'a running `p1logger run` owns it; stop that service first, or ask it through its HTTP API',
      { cause: error },
    );
  }
  if (/does not exist \(create_if_missing is false\)/.test(message)) {
    return new P1Error('P1_FILE_NOT_FOUND', `no queue in data directory ${dataDir} (${dbDir} does not exist): is --data-dir right?`, {
      cause: error,
    });
  }
  if ((code !== undefined && NOT_WRITABLE.has(code)) || /Permission denied|Read-only file system|Not a directory/i.test(message)) {
    return notWritable(dataDir, message, error);
  }
  // A CURRENT naming a manifest that is not there is damage too, though LevelDB calls it an I/O error.
  if (/\bCorruption\b|MANIFEST-\d+: No such file/.test(message)) {
    return new P1Error('P1_QUEUE_CORRUPT', `the queue in ${dbDir} is damaged (${message}): \`p1logger repair --data-dir ${dataDir}\` repairs it`, { cause: error });
  }
  return new P1Error('P1_QUEUE_IO', `cannot open the queue in ${dbDir}: ${message}`, { cause: error });
}

export function notWritable(path: string, reason: string, cause: unknown): P1Error {
  return new P1Error('P1_QUEUE_NOT_WRITABLE', `data directory ${path} is not writable (${reason})`, { cause });
}
