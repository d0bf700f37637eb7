// pkg/cni/undo.ts: ADD registers how to undo each step as soon as it succeeds; on failure the steps are undone in
// reverse, each one attempted even when an earlier undo fails (their errors go to stderr, the ADD's error wins).

export class Undo {
  private steps: { what: string; fn: () => unknown }[] = [];

  /** Records how to undo a step that just succeeded. */
  push(what: string, fn: () => unknown): void {
    this.steps.push({ what, fn });
  }

  /** Runs every recorded undo, newest first; never throws. */
  async run(): Promise<void> {
    for (const { what, fn } of this.steps.reverse()) {
      try {
        await fn();
      } catch (e) {
        console.error(`failed to undo ${what}: ${(e as Error).message}`);
      }
    }
    this.steps = [];
  }
}
