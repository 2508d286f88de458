import { setTimeout as sleep } from 'node:timers/promises';
import type { UploaderStats } from '../delivery/uploader.js';
import type { Logger } from '../log.js';

const POLL_MS = 100;
const PROGRESS_EVERY_MS = 5000;

/**
 * After a finite source (a capture file) ended: waits until every sink has acknowledged everything stored up to
 * `lastSeq`, logging progress, so that `run --source file:...` exits with its capture delivered. True when they
 * caught up, false when `signal` (SIGTERM) stopped the wait first: what is left waits in the queue.
 */
export async function waitForSinks(
  uploaders: ReadonlyArray<{ stats(): UploaderStats }>,
  lastSeq: number,
  options: { signal: AbortSignal; logger: Logger; progressEveryMs?: number },
): Promise<boolean> {
  const every = options.progressEveryMs ?? PROGRESS_EVERY_MS;
  const behind = (): Array<{ sink: string; behind: number; state: string; lastError: string | null }> =>
    uploaders
      .map((u) => u.stats())
      .filter((s) => s.cursor < lastSeq)
      .map((s) => ({ sink: s.name, behind: lastSeq - s.cursor, state: s.state, lastError: s.lastError }));
  let lastReport = -Infinity;
  for (;;) {
    const waiting = behind();
    if (waiting.length === 0) {
      options.logger.info({ lastSeq, sinks: uploaders.length }, 'every sink has caught up');
      return true;
    }
    if (options.signal.aborted) return false;
    if (Date.now() - lastReport >= every) {
      lastReport = Date.now();
      options.logger.info({ lastSeq, waiting }, 'source ended; waiting for the sinks to catch up before exiting (SIGTERM stops now, the rest stays queued)');
    }
    await sleep(POLL_MS, undefined, { signal: options.signal }).catch(() => undefined);
  }
}
