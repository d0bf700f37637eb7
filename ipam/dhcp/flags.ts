// ipam/dhcp/flags.ts: `dhcp daemon` arguments, read as Go's flag package reads upstream's FlagSet (main.go):
// `-name value`, `-name=value` or `--name…`; a bool flag alone means true; parsing stops at the first non-flag or
// after `--`; durations are Go duration text ("10s", "1m30s", "250ms").

export interface DaemonFlags {
  pidfile: string;
  hostprefix: string;
  socketpath: string;
  broadcast: boolean;
  timeoutMs: number;
  resendMaxMs: number;
  resendTimeoutMs: number;
  /** Ours: where leases are kept across restarts (the host prefix goes in front, as for the socket). */
  leasedir: string;
}

export const DEFAULT_LEASE_DIR = "/run/cni/dhcp-leases";

type Kind = "string" | "bool" | "duration";
const FLAGS: Record<string, { kind: Kind; key: keyof DaemonFlags; usage: string; def: string }> = {
  pidfile: { kind: "string", key: "pidfile", usage: "optional path to write daemon PID to", def: "" },
  hostprefix: { kind: "string", key: "hostprefix", usage: "optional prefix to host root", def: "" },
  socketpath: { kind: "string", key: "socketpath", usage: "optional dhcp server socketpath", def: "" },
  broadcast: { kind: "bool", key: "broadcast", usage: "broadcast DHCP leases", def: "false" },
  timeout: { kind: "duration", key: "timeoutMs", usage: "optional dhcp client timeout duration for each request", def: "10s" },
  resendmax: { kind: "duration", key: "resendMaxMs", usage: "optional dhcp client max resend delay between requests", def: "1m2s" },
  resendtimeout: { kind: "duration", key: "resendTimeoutMs", usage: "optional dhcp client resend timeout, no more retries after this timeout", def: "3m28s" },
  leasedir: { kind: "string", key: "leasedir", usage: `directory keeping leases across daemon restarts (default ${DEFAULT_LEASE_DIR})`, def: "" },
};

/** A bad command line; `exit` is what Go's flag.ExitOnError exits with (2, or 0 for -h). */
export class FlagError extends Error {
  constructor(message: string, readonly exit: number) {
    super(message);
    this.name = "FlagError";
  }
}

/** Returns Go's usage text for the daemon's flags. */
export function usage(): string {
  const lines = ["Usage of daemon:"];
  for (const [name, f] of Object.entries(FLAGS).sort(([a], [b]) => a.localeCompare(b))) {
    const type = f.kind === "string" ? " string" : f.kind === "duration" ? " duration" : "";
    const def = f.kind === "string" || f.kind === "bool" ? (f.def && f.def !== "false" ? ` (default ${JSON.stringify(f.def)})` : "") : ` (default ${f.def})`;
    lines.push(`  -${name}${type}`, `    \t${f.usage}${def}`);
  }
  return lines.join("\n");
}

/** Returns the flags of `dhcp daemon <argv…>`; throws FlagError with Go's texts. */
export function parseFlags(argv: string[]): DaemonFlags {
  const out: DaemonFlags = {
    pidfile: "", hostprefix: "", socketpath: "", broadcast: false,
    timeoutMs: 10_000, resendMaxMs: 62_000, resendTimeoutMs: 208_000, leasedir: "",
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.length < 2 || arg[0] !== "-") break; // the first non-flag ends the flags
    let name = arg.slice(arg[1] === "-" ? 2 : 1);
    if (arg === "--") break;
    if (name === "" || name[0] === "-" || name[0] === "=") throw new FlagError(`bad flag syntax: ${arg}`, 2);
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (name === "h" || name === "help") throw new FlagError("", 0);
    const f = Object.hasOwn(FLAGS, name) ? FLAGS[name]! : undefined;
    if (!f) throw new FlagError(`flag provided but not defined: -${name}`, 2);
    if (f.kind === "bool") {
      const v = value === undefined ? true : parseGoBool(value);
      if (v === undefined) throw new FlagError(`invalid boolean value ${JSON.stringify(value)} for -${name}: parse error`, 2);
      (out[f.key] as boolean) = v;
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: -${name}`, 2);
      value = argv[++i]!;
    }
    if (f.kind === "string") {
      (out[f.key] as string) = value;
    } else {
      const ms = parseGoDuration(value);
      if (ms === undefined) throw new FlagError(`invalid value ${JSON.stringify(value)} for flag -${name}: parse error`, 2);
      (out[f.key] as number) = ms;
    }
  }
  return out;
}

function parseGoBool(s: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  return undefined;
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Returns a Go duration ("1h2m3.5s", "-1s", "0") in ms, or undefined when it is not one. */
export function parseGoDuration(s: string): number | undefined {
  let rest = s;
  let sign = 1;
  if (rest[0] === "-" || rest[0] === "+") {
    if (rest[0] === "-") sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let total = 0;
  while (rest !== "") {
    const m = /^([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!m || m[1] === "" || m[1] === ".") return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}
