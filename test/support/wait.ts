// test/support/wait.ts: waiting on a condition with a deadline, for state the kernel settles asynchronously (a netns
// and its links going away). Tests never sleep a fixed time.

/** Waits until cond() holds, polling; throws naming `what` after timeoutMs. */
export function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): void {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    Bun.sleepSync(10);
  }
}
