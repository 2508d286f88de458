import type { Telegram } from './types.js';

/** One line of `p1logger parse` output: the "Parsed telegram" contract (README). */
export function telegramToJson(telegram: Telegram): string {
  return JSON.stringify(telegram);
}
