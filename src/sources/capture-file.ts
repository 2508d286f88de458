import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { P1Error } from '../errors.js';

/** Opens a capture for streaming (64 KiB chunks, constant memory), turning open failures into one clear line. */
export async function openCapture(file: string): Promise<NodeJS.ReadableStream> {
  const stream = createReadStream(file, { highWaterMark: 64 * 1024 });
  try {
    await once(stream, 'open');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new P1Error('P1_FILE_NOT_FOUND', `no such file: ${file}`, { cause: error });
    if (code === 'EISDIR') throw new P1Error('P1_USAGE', `${file} is a directory, not a capture file`, { cause: error });
    throw new P1Error('P1_USAGE', `cannot read ${file}: ${code ?? String(error)}`, { cause: error });
  }
  return stream;
}
