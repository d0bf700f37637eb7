// pkg/netfilter/iptables.ts: the iptables backend. State is read once with `iptables-save -t <table>` and changed with
// one `iptables-restore --noflush -w` batch per family and call: an ADD or DEL costs two processes per family where
// upstream's go-iptables runs one per check and change (BUN-NOTES §10). Whether a chain or rule exists is decided
// from the saved text, never from an error message: iptables 1.8.9 (nf_tables) words "no such chain" differently
// on recent kernels (SPEC-DIGEST §0.9).
import { cstr, sys } from "../sys/libc.ts";
import { canIdentifyFiles, fdId, fileId } from "../sys/file-id.ts";
import { NetfilterBatchError, NetfilterUnavailableError, netfilterChanges, runTool, startTool, type ToolRun } from "./exec.ts";

export type IpFamily = 4 | 6;

/** One rule as iptables-save prints it. */
export interface IptablesRule {
  chain: string;
  /** The whole line, `-A <chain> …`, exactly as printed (the form rules are compared in). */
  line: string;
  /** The line split as iptables-restore splits it (quotes removed, escapes resolved), starting with `-A`. */
  args: string[];
}

/** One table of one family, as iptables-save printed it. */
export interface IptablesTable {
  name: string;
  /** Chain name → policy (`-` for user-defined chains), in printed order. */
  chains: Map<string, string>;
  /** Every rule of the table, in printed order (grouped by chain, as iptables-save prints them). */
  rules: IptablesRule[];
}

const saveTool = (family: IpFamily) => (family === 4 ? "iptables-save" : "ip6tables-save");
const restoreTool = (family: IpFamily) => (family === 4 ? "iptables-restore" : "ip6tables-restore");

/**
 * Returns the table as the family's iptables-save prints it. Throws NetfilterUnavailableError when the tool is
 * missing or iptables-save fails (iptables cannot be used here).
 */
export function readIptablesTable(family: IpFamily, table: string): IptablesTable {
  const kept = takeLastRead(family, table);
  if (kept) return kept;
  const tool = saveTool(family);
  const p = runTool(tool, ["-t", table]);
  if (p.exitCode !== 0) {
    throw new NetfilterUnavailableError(tool, `failed to list ${table} table: ${tool}: ${p.stderr.trim() || `exit status ${p.exitCode}`}`);
  }
  const state = parseIptablesSave(p.stdout, table);
  keepLastRead(family, table, state);
  return state;
}

// The last table read, kept for one reuse. A plugin call reads a table to see that iptables works (upstream's
// backend probe: bridge and ptp ipMasq, portmap, firewall) and then again to plan its batch, with nothing run in
// between; that second read is the first one's result instead of another iptables-save (~2 ms). Reused only once,
// for the same family and table, within a second, when no tool that may change netfilter state ran since
// (netfilterChanges), and in the same netns: the entry holds that netns open, so its inode cannot be given to
// another netns meanwhile, and compares it with the calling thread's.
interface LastRead {
  family: IpFamily;
  table: string;
  state: IptablesTable;
  changes: number;
  at: number;
  netnsFd: number;
  netnsId: string;
}
const REUSE_MS = 1000;
const THREAD_NETNS = "/proc/thread-self/ns/net";
const O_RDONLY_CLOEXEC = 0o2000000;
let lastRead: LastRead | undefined;

function forgetLastRead(): void {
  if (lastRead) sys().close(lastRead.netnsFd);
  lastRead = undefined;
}

function keepLastRead(family: IpFamily, table: string, state: IptablesTable): void {
  forgetLastRead();
  if (!canIdentifyFiles()) return;
  const fd = sys().open(cstr(THREAD_NETNS), O_RDONLY_CLOEXEC, 0);
  if (fd < 0) return;
  const netnsId = fdId(fd);
  if (netnsId === undefined) {
    sys().close(fd);
    return;
  }
  lastRead = { family, table, state, changes: netfilterChanges(), at: performance.now(), netnsFd: fd, netnsId };
}

function takeLastRead(family: IpFamily, table: string): IptablesTable | undefined {
  const m = lastRead;
  if (!m) return undefined;
  forgetLastRead(); // used now or never
  const fresh = m.family === family && m.table === table && m.changes === netfilterChanges() && performance.now() - m.at <= REUSE_MS;
  return fresh && fileId(THREAD_NETNS) === m.netnsId ? m.state : undefined;
}

/** Returns whether the family's iptables can read the table here (the binary exists and iptables-save succeeds). */
export function isIptablesUsable(family: IpFamily = 4, table = "nat"): boolean {
  try {
    readIptablesTable(family, table);
    return true;
  } catch (e) {
    if (e instanceof NetfilterUnavailableError) return false;
    throw e;
  }
}

/**
 * Applies restore lines (`:CHAIN - [0:0]`, `-A …`, `-D …`, `-F C`, `-X C`) to one table in one
 * `iptables-restore --noflush -w` call; does nothing for no lines. Throws when the tool is missing or the batch fails
 * (the batch is atomic: nothing of it applies then).
 */
export function applyIptablesBatch(family: IpFamily, table: string, lines: string[]): void {
  if (lines.length === 0) return;
  const batch = iptablesRestoreText(table, lines);
  checkRestore(family, table, batch, runTool(restoreTool(family), RESTORE_ARGS, batch));
}

/**
 * applyIptablesBatch, with the restore started now and awaited by the caller, who may do other slow work while the
 * tool commits (a commit that deletes rules makes iptables-restore wait an RCU grace period before it exits).
 */
export async function startIptablesBatch(family: IpFamily, table: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const batch = iptablesRestoreText(table, lines);
  const run = startTool(restoreTool(family), RESTORE_ARGS, batch);
  checkRestore(family, table, batch, await run);
}

// --noflush keeps every rule the batch does not mention; -w waits for the xtables lock, as go-iptables' --wait does.
const RESTORE_ARGS = ["--noflush", "-w"];

function checkRestore(family: IpFamily, table: string, batch: string, p: ToolRun): void {
  if (p.exitCode === 0) return;
  const tool = restoreTool(family);
  throw new NetfilterBatchError(`failed to apply ${table} rules with ${tool}: ${p.stderr.trim() || `exit status ${p.exitCode}`}`, batch);
}

/** Returns the iptables-restore input for one table: `*<table>`, the lines, `COMMIT`. */
export function iptablesRestoreText(table: string, lines: string[]): string {
  return `*${table}\n${lines.join("\n")}\nCOMMIT\n`;
}

/** Returns the table parsed from iptables-save text; a table the text does not mention has no chains. Throws on a line it cannot read. */
export function parseIptablesSave(text: string, table: string): IptablesTable {
  const out: IptablesTable = { name: table, chains: new Map(), rules: [] };
  let current: string | undefined;
  let lineNo = 0;
  for (const raw of text.split("\n")) {
    lineNo++;
    const line = raw.trimEnd();
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("*")) { current = line.slice(1); continue; }
    if (line === "COMMIT") { current = undefined; continue; }
    if (current === undefined) throw new Error(`failed to parse iptables-save output: line ${lineNo} outside a table: ${JSON.stringify(line)}`);
    if (current !== table) continue;
    if (line.startsWith(":")) {
      // ":NAME POLICY [packets:bytes]"
      const m = /^:(\S+) (\S+)/.exec(line);
      if (!m) throw new Error(`failed to parse iptables-save output: line ${lineNo}: bad chain line ${JSON.stringify(line)}`);
      out.chains.set(m[1]!, m[2]!);
    } else if (line.startsWith("-A ")) {
      checkQuotes(line);
      const chain = ruleChain(line);
      if (chain === undefined) throw new Error(`failed to parse iptables-save output: line ${lineNo}: rule without chain`);
      out.rules.push(savedRule(chain, line));
    } else {
      throw new Error(`failed to parse iptables-save output: line ${lineNo}: unexpected ${JSON.stringify(line)}`);
    }
  }
  return out;
}

// A saved rule whose `args` are split on first use: a table is read on every call, grows with the pods, and most of
// its rules are only compared by line; splitting every line cost ~10 µs each in a fresh process.
function savedRule(chain: string, line: string): IptablesRule {
  let args: string[] | undefined;
  const rule = { chain, line } as IptablesRule;
  Object.defineProperty(rule, "args", { enumerable: true, get: () => (args ??= splitRestoreArgs(line)) });
  savedRules.add(rule);
  return rule;
}
// Rules made by savedRule: their lines are iptables-save's, with every quote terminated (checkQuotes).
const savedRules = new WeakSet<IptablesRule>();

const JUMPS = new Set(["-j", "--jump", "-g", "--goto"]);

// Returns ruleTarget's answer from the unquoted end of a checked line, or null when the full split is needed: the
// last jump is found there whenever it follows the last quoted argument (as iptables-save puts it, after matches).
function tailTarget(line: string): string | undefined | null {
  const lastQuote = line.lastIndexOf('"');
  const tail = lastQuote < 0 ? line : line.slice(lastQuote + 1);
  const words = tail.split(/[ \t]+/);
  // A word glued to the closing quote belongs to the quoted argument; the first words of a line are -A and the chain.
  const first = lastQuote < 0 ? 2 : 1;
  for (let i = words.length - 2; i >= first; i--) {
    if (words[i] === "" || !JUMPS.has(words[i]!)) continue;
    const target = words[i + 1];
    return target === "" ? null : target;
  }
  return null;
}

// Returns the second argument of a rule line (its chain), as splitRestoreArgs would; undefined when there is none.
function ruleChain(line: string): string | undefined {
  let end = 3;
  while (end < line.length && line.charCodeAt(end) !== SPACE && line.charCodeAt(end) !== TAB) end++;
  const bare = line.slice(3, end);
  return bare !== "" && !bare.includes('"') ? bare : splitRestoreArgs(line)[1]; // quoted or odd spacing: the full split
}

// Throws splitRestoreArgs's error when the line has an unterminated quote (found by jumping from quote to quote).
function checkQuotes(line: string): void {
  let open = line.indexOf('"');
  while (open >= 0) {
    let from = open + 1;
    for (;;) {
      const quote = line.indexOf('"', from);
      const escape = line.indexOf("\\", from);
      if (quote < 0) throw new Error(`failed to parse iptables rule: unterminated quote in ${JSON.stringify(line)}`);
      if (escape >= 0 && escape < quote) {
        from = escape + 2; // the escaped character, whatever it is, stays inside the quotes
        continue;
      }
      open = line.indexOf('"', quote + 1);
      break;
    }
  }
}

/** Returns the chain a rule jumps or goes to (`-j`/`-g` argument), or undefined. */
export function ruleTarget(rule: IptablesRule): string | undefined {
  if (savedRules.has(rule)) {
    const fast = tailTarget(rule.line);
    if (fast !== null) return fast;
  }
  for (let i = rule.args.length - 2; i >= 2; i--) {
    const a = rule.args[i];
    if (a === "-j" || a === "--jump" || a === "-g" || a === "--goto") return rule.args[i + 1];
  }
  return undefined;
}

/** Returns the `-D` line that deletes a saved rule by its spec. */
export function deleteLine(rule: IptablesRule): string {
  return "-D" + rule.line.slice(2);
}

const NO_QUOTE = /^[-_0-9A-Za-z]+$/;

/** Returns an argument as iptables-save prints it (xtables_save_string): bare when safe, else quoted with `"`, `\` and `'` escaped. */
export function saveQuote(s: string): string {
  if (NO_QUOTE.test(s)) return s;
  return '"' + s.replace(/["\\']/g, (c) => "\\" + c) + '"';
}

/** Returns a restore/save line split into arguments the way iptables-restore does (add_param_to_argv). */
export function splitRestoreArgs(line: string): string[] {
  // Index loop with slices: a table's worth of rules is parsed on every call that reads it, and the run grows with
  // the number of pods; iterating characters one by one cost ~10 µs a line.
  const args: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    let c = line.charCodeAt(i);
    if (c === SPACE || c === TAB) {
      i++;
      continue;
    }
    // One parameter: bare runs and quoted parts glued together up to the next unquoted space or tab.
    let param = "";
    while (i < n) {
      c = line.charCodeAt(i);
      if (c === SPACE || c === TAB) break;
      if (c !== QUOTE) {
        const start = i;
        while (i < n && (c = line.charCodeAt(i)) !== SPACE && c !== TAB && c !== QUOTE) i++;
        param += line.slice(start, i);
        continue;
      }
      // Inside quotes a backslash takes the next character literally; the closing quote ends the quoted part.
      i++;
      let closed = false;
      while (i < n) {
        c = line.charCodeAt(i);
        if (c === BACKSLASH && i + 1 < n) {
          param += line[i + 1];
          i += 2;
        } else if (c === BACKSLASH) {
          i++; // a trailing backslash escapes nothing
        } else if (c === QUOTE) {
          i++;
          closed = true;
          break;
        } else {
          const start = i;
          while (i < n && (c = line.charCodeAt(i)) !== BACKSLASH && c !== QUOTE) i++;
          param += line.slice(start, i);
        }
      }
      if (!closed) throw new Error(`failed to parse iptables rule: unterminated quote in ${JSON.stringify(line)}`);
    }
    args.push(param);
  }
  return args;
}

const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
