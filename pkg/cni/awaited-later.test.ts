// pkg/cni/awaited-later.test.ts: a rejection awaited only later neither ends the process nor loses its error.
import { expect, test } from "bun:test";

test("a child bun that awaits a marked rejection late exits 0 and sees the error; unmarked, Bun exits 1", () => {
  const script = (mark: boolean) => `
    import { awaitedLater } from ${JSON.stringify(`${import.meta.dir}/awaited-later.ts`)};
    const started = (async () => { await Bun.sleep(1); throw new Error("late"); })();
    const p = ${mark ? "awaitedLater(started)" : "started"};
    await Bun.sleep(20);
    try { await p; } catch (e) { console.log("caught " + (e as Error).message); }
  `;
  for (const mark of [true, false]) {
    const r = Bun.spawnSync([process.execPath, "-e", script(mark)], { stdout: "pipe", stderr: "pipe" });
    expect(r.stdout.toString().trim()).toBe("caught late");
    expect(r.exitCode).toBe(mark ? 0 : 1);
  }
});
