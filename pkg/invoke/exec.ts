// pkg/invoke/exec.ts: run a plugin binary as libcni does: env and stdin in, result or error object out
// (SPEC-DIGEST §0.5), retrying a binary that is still being written (ETXTBSY).
import { goQuote } from "../cni/args.ts";
import { CniError } from "../cni/errors.ts";

const ETXTBSY_TRIES = 5;

/**
 * Returns the plugin's stdout on success; throws the CniError it reported (or one describing how it failed). With
 * `timeoutMs` the plugin is killed (SIGKILL) when it runs longer, and that is the error.
 */
export function execPlugin(path: string, stdin: Uint8Array, env: Record<string, string | undefined>, timeoutMs?: number): Uint8Array {
  for (let attempt = 1; ; attempt++) {
    let proc;
    try {
      proc = Bun.spawnSync([path], { stdin, env, stdout: "pipe", stderr: "pipe", ...(timeoutMs ? { timeout: timeoutMs, killSignal: "SIGKILL" } : {}) });
    } catch (e) {
      if ((e as { code?: string }).code === "ETXTBSY" && attempt < ETXTBSY_TRIES) {
        Bun.sleepSync(1000);
        continue;
      }
      throw e;
    }
    const stderr = proc.stderr.toString();
    // Pass the delegate's diagnostics through, as exec.Cmd with Stderr = os.Stderr does.
    if (stderr) console.error(stderr.replace(/\n$/, ""));
    if (proc.exitCode === 0) return proc.stdout;
    if (proc.exitedDueToTimeout) throw new Error(`plugin ${path} did not finish within ${timeoutMs} ms and was killed`);
    throw delegateError(proc.stdout.toString(), stderr, proc.exitCode, proc.signalCode ?? null);
  }
}

/** Returns the error a failed plugin run means, in upstream's words (RawExec.pluginErr); libcni's exec shares it. */
export function delegateError(stdout: string, stderr: string, exitCode: number | null, signal: string | number | null): CniError {
  if (stdout === "") {
    if (stderr === "") {
      const how = exitCode === null ? `signal: ${signal}` : `exit status ${exitCode}`;
      return new CniError(0, `netplugin failed with no error message: ${how}`); // upstream text
    }
    return new CniError(0, `netplugin failed: ${goQuote(stderr)}`); // upstream text
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (e) {
    return new CniError(0, `netplugin failed but error parsing its diagnostic message ${goQuote(stdout)}: ${(e as Error).message}`);
  }
  const o = (parsed ?? {}) as { code?: unknown; msg?: unknown; details?: unknown };
  return new CniError(
    typeof o.code === "number" ? o.code : 0,
    typeof o.msg === "string" ? o.msg : "",
    typeof o.details === "string" ? o.details : "",
  );
}
