import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { P1Error } from '../errors.js';
import type { Logger } from '../log.js';
import { replaySchedule } from './replay.js';
import type { ByteSource, SourceStats } from './source.js';
import { describeSpec, type FileSpec } from './spec.js';
import { wait } from './wait.js';

/**
 * Replays a capture file: `fast` hands over its bytes as quickly as they are taken, `realtime` one telegram per
 * meter interval. Unlike the live sources it ends, and a file that cannot be read is an error (retrying will
 * not make it appear): the iterator throws P1_FILE_NOT_FOUND / P1_USAGE.
 */
export function createFileSource(spec: FileSpec, options: { logger: Logger }): ByteSource {
  const description = describeSpec(spec);
  const stats: SourceStats = { state: 'closed', reconnects: 0, bytes: 0 };
  return {
    description,
    stats,
    read(signal: AbortSignal): AsyncIterable<Buffer> {
      return replay(spec, stats, options.logger, description, signal);
    },
  };
}

async function* replay(spec: FileSpec, stats: SourceStats, logger: Logger, description: string, signal: AbortSignal): AsyncGenerator<Buffer> {
  stats.state = 'connecting';
  try {
    if (spec.rate === 'fast') {
      const stream = createReadStream(spec.path, { highWaterMark: 64 * 1024 });
      try {
        await once(stream, 'open');
      } catch (error) {
        throw fileError(spec.path, error);
      }
      stats.state = 'open';
      logger.debug({ source: description }, `${description}: open`);
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (signal.aborted) return;
          stats.bytes += chunk.length;
          yield chunk;
        }
      } finally {
        stream.destroy();
      }
      return;
    }
    let capture: Buffer;
    try {
      capture = await readFile(spec.path);
    } catch (error) {
      throw fileError(spec.path, error);
    }
    stats.state = 'open';
    logger.debug({ source: description }, `${description}: open`);
    for (const step of replaySchedule(capture)) {
      if (step.delayMs > 0) await wait(step.delayMs, signal);
      if (signal.aborted) return;
      stats.bytes += step.bytes.length;
      yield step.bytes;
    }
  } finally {
    stats.state = 'closed';
  }
}

function fileError(path: string, error: unknown): P1Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new P1Error('P1_FILE_NOT_FOUND', `no such file: ${path}`, { cause: error });
  if (code === 'EISDIR') return new P1Error('P1_USAGE', `${path} is a directory, not a capture file`, { cause: error });
  if (code === 'EACCES') return new P1Error('P1_USAGE', `no permission to read ${path}`, { cause: error });
  return new P1Error('P1_USAGE', `cannot read ${path}: ${code ?? String(error)}`, { cause: error });
}
