/**
 * The one error hierarchy of p1logger. `code` is stable (documented in the README with what to do);
 * messages may change. Secrets never appear in a message.
 */
export type P1ErrorCode =
  | 'P1_USAGE'
  | 'P1_FILE_NOT_FOUND'
  | 'P1_CRC_MISMATCH'
  | 'P1_TELEGRAM_INVALID'
  | 'P1_DECRYPT_FAILED'
  | 'P1_KEY_REQUIRED'
  | 'P1_PORT_NOT_FOUND'
  | 'P1_PORT_PERMISSION'
  | 'P1_PORT_NOT_SERIAL'
  | 'P1_PORT_BUSY'
  | 'P1_SOURCE_SPEC'
  | 'P1_SOURCE_CLOSED'
  | 'P1_SOURCE_UNAVAILABLE'
  | 'P1_SOURCE_SILENT'
  | 'P1_QUEUE_LOCKED'
  | 'P1_QUEUE_NOT_WRITABLE'
  | 'P1_QUEUE_CLOSED'
  | 'P1_QUEUE_DISK_FULL'
  | 'P1_QUEUE_IO'
  | 'P1_QUEUE_CORRUPT'
  | 'P1_SINK_SPEC'
  | 'P1_SINK_AUTH'
  | 'P1_SINK_NOT_FOUND'
  | 'P1_SINK_REJECTED'
  | 'P1_SINK_UNAVAILABLE'
  | 'P1_CONFIG_INVALID'
  | 'P1_SECRET_FILE_MODE'
  | 'P1_HTTP_LISTEN'
  | 'P1_RELAY_LISTEN';

export class P1Error extends Error {
  override name = 'P1Error';
  readonly code: P1ErrorCode;

  constructor(code: P1ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isP1Error(error: unknown, code?: P1ErrorCode): error is P1Error {
  return error instanceof P1Error && (code === undefined || error.code === code);
}

/**
 * An error about one named thing (a source or sink spec, a secret): `problem` is the message without its subject,
 * for lists that name the subject themselves (`config check`).
 */
export class SubjectError extends P1Error {
  readonly problem: string;

  constructor(code: P1ErrorCode, subject: string, problem: string, options?: { cause?: unknown; hint?: string }) {
    super(code, `${subject}: ${problem}${options?.hint === undefined ? '' : ` (${options.hint})`}`, options);
    this.problem = problem;
  }
}
