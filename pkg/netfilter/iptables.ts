// pkg/netfilter/iptables.ts: the iptables backend. State is read once with `iptables-save -t <table>` and changed with
// one `iptables-restore --noflush -w` batch per family and call: an ADD or DEL costs two processes per family where
// upstream's go-iptables runs one per check and change (BUN-NOTES §10). Whether a chain or rule exists is decided
// from the saved text, never from an error message: iptables 1.8.9 (nf_tables) words "no such chain" differently
// on recent kernels (SPEC-DIGEST §0.9).
import { NetfilterBatchError, NetfilterUnavailableError, runTool } from "./exec.ts";

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
  const tool = saveTool(family);
  const p = runTool(tool, ["-t", table]);
  if (p.exitCode !== 0) {
    throw new NetfilterUnavailableError(tool, `failed to list ${table} table: ${tool}: ${p.stderr.trim() || `exit status ${p.exitCode}`}`);
  }
  return parseIptablesSave(p.stdout, table);
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
  const tool = restoreTool(family);
  const batch = iptablesRestoreText(table, lines);
  // --noflush keeps every rule the batch does not mention; -w waits for the xtables lock, as go-iptables' --wait does.
  const p = runTool(tool, ["--noflush", "-w"], batch);
  if (p.exitCode !== 0) {
    throw new NetfilterBatchError(`failed to apply ${table} rules with ${tool}: ${p.stderr.trim() || `exit status ${p.exitCode}`}`, batch);
  }
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
      const args = splitRestoreArgs(line);
      const chain = args[1];
      if (chain === undefined) throw new Error(`failed to parse iptables-save output: line ${lineNo}: rule without chain`);
      out.rules.push({ chain, line, args });
    } else {
      throw new Error(`failed to parse iptables-save output: line ${lineNo}: unexpected ${JSON.stringify(line)}`);
    }
  }
  return out;
}

/** Returns the chain a rule jumps or goes to (`-j`/`-g` argument), or undefined. */
export function ruleTarget(rule: IptablesRule): string | undefined {
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
  const args: string[] = [];
  let param = "";
  let hasParam = false;
  let quoted = false;
  let escaped = false;
  for (const c of line) {
    if (quoted) {
      if (escaped) { param += c; escaped = false; }
      else if (c === "\\") escaped = true;
      else if (c === '"') quoted = false;
      else param += c;
      continue;
    }
    if (c === '"') { quoted = true; hasParam = true; continue; }
    if (c === " " || c === "\t") {
      if (hasParam) { args.push(param); param = ""; hasParam = false; }
      continue;
    }
    param += c;
    hasParam = true;
  }
  if (quoted) throw new Error(`failed to parse iptables rule: unterminated quote in ${JSON.stringify(line)}`);
  if (hasParam) args.push(param);
  return args;
}
