/**
 * Polls `condition` every 10 ms until it holds; fails after `timeoutMs`, naming `what` it waited for. What the
 * integration tests wait with for a cursor, a state or a message, instead of a fixed sleep.
 */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
