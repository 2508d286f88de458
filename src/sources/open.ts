import type { Logger } from '../log.js';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import { createFileSource } from './file.js';
import { createSerialSource } from './serial.js';
import type { DlmsKeys } from '../frames/gcm.js';
import { createSimulatorSource } from './simulator.js';
import type { ByteSource } from './source.js';
import { parseSourceSpec } from './spec.js';
import { createTcpSource } from './tcp.js';

/** Without a complete telegram for this long a live source reconnects: 3 x the 10 s interval of older meters. */
export const DEFAULT_SILENCE_MS = 30_000;

export interface OpenSourceOptions {
  logger: Logger;
  /** No complete telegram for this long -> reconnect (serial, tcp). Default 30 s. */
  silenceMs?: number;
  /** Reconnect delays (tests shorten them). */
  backoff?: BackoffPolicy;
  /** Serial auto-detection: time per setting before trying the other. Default 12 s (capped by silenceMs). */
  detectMs?: number;
  /** The meter's keys: `simulate?protocol=smarty` encrypts with them. */
  keys?: DlmsKeys;
}

/**
 * The one entry point for acquisition: a source spec -> a ByteSource. Throws P1Error 'P1_SOURCE_SPEC' for a
 * spec that cannot work; everything that can get better by waiting (a missing device, a refused connection)
 * is retried inside the source instead.
 */
export function openSource(spec: string, options: OpenSourceOptions): ByteSource {
  const parsed = parseSourceSpec(spec);
  const silenceMs = options.silenceMs ?? DEFAULT_SILENCE_MS;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  switch (parsed.kind) {
    case 'serial':
      return createSerialSource(parsed, {
        logger: options.logger,
        silenceMs,
        backoff,
        ...(options.detectMs === undefined ? {} : { detectMs: options.detectMs }),
      });
    case 'tcp':
      return createTcpSource(parsed, { logger: options.logger, silenceMs, backoff });
    case 'file':
      return createFileSource(parsed, { logger: options.logger });
    case 'simulate':
      return createSimulatorSource(parsed, { logger: options.logger, ...(options.keys ? { keys: options.keys } : {}) });
  }
}
