import { readLength } from './axdr.js';
import { APDU } from './apdu.js';
import { Parts } from '../parts.js';

/**
 * General Block Transfer (IEC 62056-5-3): a meter whose notification does not fit one frame (Landis+Gyr E450)
 * sends it as numbered blocks, `E0 | control (bit 7: last) | block number (2) | acknowledged (2) | length | data`,
 * one per frame. Joined in order they are the APDU.
 */

const LAST_BLOCK = 0x80;
/** E0, control, block number (2), acknowledged block (2); the data's length follows. */
const HEADER_BYTES = 6;

export interface GbtBlock {
  last: boolean;
  number: number;
  data: Uint8Array;
}

export function readGbtBlock(apdu: Uint8Array): GbtBlock | null {
  if (apdu.length <= HEADER_BYTES || apdu[0] !== APDU.generalBlockTransfer) return null;
  const length = readLength(apdu, HEADER_BYTES);
  if (length === null || length.end + length.value > apdu.length) return null;
  return { last: (apdu[1]! & LAST_BLOCK) !== 0, number: (apdu[2]! << 8) | apdu[3]!, data: apdu.subarray(length.end, length.end + length.value) };
}

/** Joins blocks 1, 2, ... up to the last; a block out of order drops what was collected. */
export class GbtReassembler {
  private readonly parts: Parts;

  constructor(maxBytes?: number) {
    this.parts = new Parts(maxBytes);
  }

  /** The APDU when `block` is the last, else null. */
  push(block: GbtBlock): Uint8Array | null {
    if (block.number !== this.parts.count + 1) {
      this.parts.reset();
      if (block.number !== 1) return null;
    }
    if (!this.parts.add(block.data)) return null;
    return block.last ? this.parts.take() : null;
  }

  get pending(): number {
    return this.parts.count;
  }

  reset(): void {
    this.parts.reset();
  }
}
