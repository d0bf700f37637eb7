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

/** waitFor without blocking the event loop (a child process the test awaits keeps running meanwhile). */
export async function waitForAsync(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(10);
  }
}

/** Returns p's value, or throws naming `what` when it has not settled after timeoutMs (the timer is then cleared). */
export async function within<T>(p: Promise<T>, what: string, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}
