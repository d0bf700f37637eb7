// pkg/netfilter/exec.ts: run the system's netfilter tools synchronously. A child is forked from the calling
// thread, so it acts on the netns that thread is in (BUN-NOTES §2): callers may run these inside withNetns.
import { findTool } from "../sys/find-tool.ts";

/** The tool is missing or cannot be used here (no binary, or it cannot even read state); DEL ignores this backend. */
export class NetfilterUnavailableError extends Error {
  constructor(readonly tool: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NetfilterUnavailableError";
  }
}

/** What a tool printed and how it ended. */
export interface ToolRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

let changes = 0;

/**
 * Returns a number that changes whenever this process is about to run a tool that may change netfilter state (every
 * tool but the `*-save` readers), so a copy of a table read earlier can tell it may be out of date.
 */
export function netfilterChanges(): number {
  return changes;
}

function toolPath(name: string): string {
  if (!name.endsWith("-save")) changes++;
  const path = findTool(name);
  if (path === null) throw new NetfilterUnavailableError(name, `failed to find ${JSON.stringify(name)} in $PATH`);
  return path;
}

/** Records that this process changed netfilter state without a tool (in-process nfnetlink), as netfilterChanges counts. */
export function noteNetfilterChange(): void {
  changes++;
}

/** Returns the outcome of running a tool with optional stdin. Throws NetfilterUnavailableError when it cannot be found or started. */
export function runTool(name: string, args: string[], stdin?: string): ToolRun {
  const path = toolPath(name);
  let p;
  try {
    p = Bun.spawnSync([path, ...args], { stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  } catch (e) {
    throw new NetfilterUnavailableError(name, `failed to run ${JSON.stringify(path)}: ${(e as Error).message}`, { cause: e });
  }
  return { exitCode: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

/** A batch the tool rejected; nothing of it applied. `batch` is the text that was sent. */
export class NetfilterBatchError extends Error {
  constructor(message: string, readonly batch: string) {
    super(message);
    this.name = "NetfilterBatchError";
  }
}
