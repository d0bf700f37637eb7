// test/fuzz/mutate.ts: seeded mutations of what a runtime hands a plugin: the JSON config (wrong types, huge and
// odd numbers, deep nesting, 1 MB strings, path traversal, control and non-ASCII characters, keys in other cases,
// keys removed or added), its bytes (invalid UTF-8, truncation, duplicate keys, garbage), the CNI_* env values and
// CNI_ARGS. Every choice comes from a Prng, so a case is a pure function of (seed, plugin, index).
//
// Safety: the plugins run as root. Their netns is a throwaway one, but the filesystem is the host's, so every path a
// plugin would write under (`dataDir` in any spelling, at any depth) is forced below the lane's temp dir
// (`confine`), no value ever names a real netns (nothing here points at /proc/<pid>/ns or another /run/netns
// entry), and the socket paths point into the temp dir.
import type { Prng } from "../support/prng.ts";

/** Strings that have broken parsers and path handling before: traversal, separators, control and odd characters. */
export const NASTY_STRINGS: readonly string[] = [
  "", " ", ".", "..", "...", "../", "../../etc", "../../../../../../../etc/passwd", "/etc/passwd", "/", "//", "a/b",
  "a/../../b", "./x", "~", "..\\..\\x", "%2e%2e%2f", "a\u0000b", "\u0000", "\n", "eth0\n", "\t", " eth0", "eth0 ",
  "a:b", "a b", "é", "日本語", "\u202e", "\ufeff", "\ud800", "\udfff", "💥", "\u00a0", "\u2028", "x".repeat(15),
  "x".repeat(16), "x".repeat(300), "IFNAME", "$(id)", "`id`", "; id", "|", "&&", "%s%n%x", "{{", "-1", "0", "1e309",
  "NaN", "true", "null", "{}", "[]", "lo", "eth0", "net1", "cni0", "veth0", "*", "?", "\\", "\"", "'", ",", "=",
  ";", ":", "#", "--", "-j ACCEPT", "\n-A INPUT -j DROP", "; flush ruleset", "0.0.0.0/0", "::/0", "10.1.2.3",
  "10.1.2.3/33", "fe80::1%eth0", "256.1.1.1", "1.2.3.4/-1", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00",
  "01:00:5e:00:00:01", "zz:zz", "net.ipv4.ip_forward", "kernel.panic", "net/../../kernel/panic", "net.IFNAME",
  "net.ipv4.conf.IFNAME.forwarding/../../../../../../kernel/panic", "net/ipv4/../../../sys/kernel/panic",
  "net.ipv4.conf.all.forwarding", "net.core.somaxconn", "vm.drop_caches", "/proc/sys/kernel/panic",
  "/dev/null", "/proc/self/ns/net", "/proc/thread-self/ns/net", "/run/netns", "/sys/class/net", "0000:00:00.0",
  "../../../../sys/bus/pci/devices", "iptables", "nftables", "firewalld", "none", "bridge", "host-local", "static",
  "dhcp", "ptp", "../host-local", "/usr/sbin/iptables", "tcp", "udp", "sctp", "TCP", "l2", "l3", "l3s", "vepa",
  "private", "passthru", "source", "bridge\u0000", "1.1.0", "1.0.0", "0.4.0", "0.3.1", "0.2.0", "0.1.0", "2.0.0",
  "1.1", "1", "v1.0.0", "1.0.0-rc1", "01.0.0", "1.0.0.0",
];

/** Numbers that are edge cases somewhere: zero, signs, limits of int32/uint32/int64, fractions, exponents. */
const NASTY_NUMBERS: readonly string[] = [
  "0", "-0", "1", "-1", "0.5", "1.5", "-1.5", "2", "65535", "65536", "4094", "4095", "68", "1500", "9000",
  "2147483647", "2147483648", "-2147483649", "4294967295", "4294967296", "9007199254740993", "18446744073709551615",
  "18446744073709551616", "99999999999999999999999999999", "1e3", "1E3", "1e-7", "1e308", "1e309", "-1e309",
  "123456789012345678901234567890e-10", "0.0000000000000000000000001",
];

// Numbers JavaScript cannot hold as written (1e309, 2^64) travel as marked strings and are put back as raw
// text when the config is serialised (`serialize`).
const RAW = "\u0001raw:";

/** Returns a nasty string, sometimes built (long, repeated traversal) rather than picked. */
export function nastyString(rng: Prng): string {
  const r = rng.next();
  if (r < 0.75) return rng.pick(NASTY_STRINGS);
  if (r < 0.85) return "../".repeat(rng.range(1, 12)) + rng.pick(["etc", "proc/sys/kernel/panic", "tmp/x", "run/netns"]);
  if (r < 0.92) return rng.pick(["a", "é", "\u0000", "/", "\ud83d\udca5"]).repeat(rng.range(2, 4096));
  return String.fromCodePoint(...Array.from({ length: rng.range(1, 24) }, () => rng.pick([rng.range(0, 0x7f), rng.range(0x80, 0x7ff), rng.range(0x800, 0xd7ff), rng.range(0xe000, 0x10ffff)])));
}

/** Returns a value of any JSON type (or a raw number), nasty or plain. */
export function nastyValue(rng: Prng, depth = 0): unknown {
  const r = rng.int(13);
  switch (r) {
    case 0: return null;
    case 1: return rng.chance(0.5);
    case 2: return `${RAW}${rng.pick(NASTY_NUMBERS)}`;
    case 3: return rng.range(-5, 70000);
    case 4: case 5: case 6: return nastyString(rng);
    case 7: return [];
    case 8: return {};
    case 9: return depth > 2 ? "x" : Array.from({ length: rng.range(1, 3) }, () => nastyValue(rng, depth + 1));
    case 10: return depth > 2 ? {} : Object.fromEntries(Array.from({ length: rng.range(1, 3) }, () => [nastyString(rng), nastyValue(rng, depth + 1)]));
    case 11: return deepNest(rng);
    default: return rng.chance(0.5) ? "x".repeat(rng.pick([1 << 10, 1 << 16, 1 << 20])) : `${RAW}${"9".repeat(rng.range(20, 400))}`;
  }
}

/** Returns nested arrays or objects up to a few thousand levels deep (parsers that recurse meet their stack). */
function deepNest(rng: Prng): unknown {
  const depth = rng.pick([16, 128, 1024, 4096, 20000]);
  let v: unknown = rng.chance(0.5) ? 1 : "x";
  const asObject = rng.chance(0.5);
  for (let i = 0; i < depth; i++) v = asObject ? { a: v } : [v];
  return v;
}

/** A place in a JSON tree: the container and the key or index of one value in it. */
interface Slot {
  parent: Record<string, unknown> | unknown[];
  key: string | number;
}

function slots(root: unknown, limit = 4000): Slot[] {
  const out: Slot[] = [];
  const visit = (v: unknown, depth: number) => {
    if (out.length >= limit || depth > 40 || v === null || typeof v !== "object") return;
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        out.push({ parent: v, key: i });
        visit(x, depth + 1);
      });
    } else {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        out.push({ parent: v as Record<string, unknown>, key: k });
        visit(x, depth + 1);
      }
    }
  };
  visit(root, 0);
  return out;
}

function containers(root: unknown): (Record<string, unknown> | unknown[])[] {
  const out: (Record<string, unknown> | unknown[])[] = [];
  if (root && typeof root === "object") out.push(root as Record<string, unknown>);
  for (const s of slots(root)) {
    const v = (s.parent as any)[s.key];
    if (v && typeof v === "object") out.push(v);
  }
  return out;
}

/** Returns the key with its letters' cases shuffled (Go's decoder folds case; ours must too). */
function recase(rng: Prng, key: string): string {
  return [...key].map((c) => (rng.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join("");
}

/**
 * Applies `count` random mutations to a deep copy of `conf` and returns it with a description of each. `fields` are
 * key names the plugin knows (inserted with nasty values, in random case).
 */
export function mutateConfig(rng: Prng, conf: Record<string, unknown>, fields: readonly string[], count: number): { conf: Record<string, unknown>; ops: string[] } {
  const root = structuredClone(conf);
  const ops: string[] = [];
  for (let n = 0; n < count; n++) {
    const all = slots(root);
    const op = rng.int(10);
    if (op <= 3 && all.length > 0) {
      const s = rng.pick(all);
      const v = nastyValue(rng);
      (s.parent as any)[s.key] = v;
      ops.push(`set ${String(s.key)}=${describe(v)}`);
    } else if (op === 4 && all.length > 0) {
      const s = rng.pick(all);
      if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
      else delete s.parent[s.key as string];
      ops.push(`delete ${String(s.key)}`);
    } else if (op === 5) {
      const objs = containers(root).filter((c) => !Array.isArray(c)) as Record<string, unknown>[];
      if (objs.length === 0) continue;
      const o = rng.pick(objs);
      const key = rng.chance(0.7) && fields.length > 0 ? recase(rng, rng.pick(fields)) : nastyString(rng);
      const v = nastyValue(rng);
      o[key] = v;
      ops.push(`add ${JSON.stringify(key).slice(0, 40)}=${describe(v)}`);
    } else if (op === 6 && all.length > 0) {
      // A value of the right shape in the wrong place: another slot's value copied over.
      const a = rng.pick(all);
      const b = rng.pick(all);
      (a.parent as any)[a.key] = structuredClone((b.parent as any)[b.key]);
      ops.push(`copy ${String(b.key)} to ${String(a.key)}`);
    } else if (op === 7 && all.length > 0) {
      // Wrapped in an array or an object: the right value one level too deep.
      const s = rng.pick(all);
      const v = (s.parent as any)[s.key];
      (s.parent as any)[s.key] = rng.chance(0.5) ? [v] : { value: v };
      ops.push(`wrap ${String(s.key)}`);
    } else if (op === 8 && all.length > 0) {
      // Strings and numbers swapped: "1500" for 1500, 1 for "1".
      const s = rng.pick(all);
      const v = (s.parent as any)[s.key];
      const swapped = typeof v === "number" ? String(v) : typeof v === "string" && v !== "" && !Number.isNaN(Number(v)) ? Number(v) : typeof v === "boolean" ? String(v) : v;
      (s.parent as any)[s.key] = swapped;
      ops.push(`retype ${String(s.key)}`);
    } else if (all.length > 0) {
      // Keys renamed to another case (Go matches them case-insensitively) or to a near miss.
      const s = rng.pick(all);
      if (Array.isArray(s.parent)) continue;
      const v = s.parent[s.key as string];
      delete s.parent[s.key as string];
      const k = rng.chance(0.7) ? recase(rng, s.key as string) : `${s.key as string}${rng.pick(["s", "_", " ", "\u0000"])}`;
      s.parent[k] = v;
      ops.push(`rekey ${String(s.key)}->${JSON.stringify(k)}`);
    }
  }
  return { conf: root, ops };
}

function describe(v: unknown): string {
  if (typeof v === "string") return v.startsWith(RAW) ? v.slice(RAW.length, RAW.length + 24) : JSON.stringify(v.length > 24 ? `${v.slice(0, 24)}…(${v.length})` : v);
  if (v && typeof v === "object") return Array.isArray(v) ? `[…${v.length}]` : `{…}`;
  return String(v);
}

/** Returns the config as bytes: JSON with raw numbers put back, sometimes mangled at the byte level. */
export function serialize(rng: Prng, conf: unknown, mangle: boolean): { bytes: Uint8Array; ops: string[] } {
  let text: string;
  try {
    text = JSON.stringify(conf);
  } catch {
    text = "{}"; // too deep for JSON.stringify itself
  }
  text = text.replace(/"\\u0001raw:([^"]*)"/g, "$1");
  let bytes = new TextEncoder().encode(text);
  const ops: string[] = [];
  if (!mangle) return { bytes, ops };
  const op = rng.int(8);
  const at = rng.int(bytes.length + 1);
  const splice = (insert: number[], remove = 0) => {
    const out = new Uint8Array(bytes.length - remove + insert.length);
    out.set(bytes.subarray(0, at));
    out.set(insert, at);
    out.set(bytes.subarray(at + remove), at + insert.length);
    bytes = out;
  };
  switch (op) {
    case 0: splice([rng.pick([0xff, 0xfe, 0xc0, 0x80, 0xed])], 0); ops.push(`invalid utf-8 byte at ${at}`); break;
    case 1: splice([0xed, 0xa0, 0x80]); ops.push(`utf-8 surrogate at ${at}`); break;
    case 2: bytes = bytes.subarray(0, at); ops.push(`truncated at ${at}`); break;
    case 3: if (at < bytes.length) bytes[at] = rng.int(256); ops.push(`byte ${at} flipped`); break;
    case 4: {
      // A key written twice (Go: the last wins) right after the opening brace.
      const key = rng.pick(["name", "cniVersion", "type", "ipam", "prevResult", "dataDir", "sysctl", "bridge"]);
      const dup = new TextEncoder().encode(`${JSON.stringify(key)}:${JSON.stringify(nastyValue(rng))},`);
      const brace = bytes.indexOf(0x7b);
      if (brace >= 0) {
        const out = new Uint8Array(bytes.length + dup.length);
        out.set(bytes.subarray(0, brace + 1));
        out.set(dup, brace + 1);
        out.set(bytes.subarray(brace + 1), brace + 1 + dup.length);
        bytes = out;
      }
      ops.push(`duplicate key ${key}`);
      break;
    }
    case 5: splice([...new TextEncoder().encode(rng.pick(["}", "]", ",", "{}", "\u0000", " garbage", "\ufeff"]))]); ops.push(`junk at ${at}`); break;
    case 6: bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes]); ops.push("BOM"); break;
    default: bytes = new TextEncoder().encode(rng.pick(["", "null", "[]", "1", "\"x\"", "{", "{}", "[{}]", "{\"name\":\"x\"}"])); ops.push("whole input replaced"); break;
  }
  return { bytes, ops };
}

/**
 * Forces every path a plugin could write or connect to below `root`: each key that folds to `datadir` (and
 * `daemonsocketpath`) at any depth gets a path under root (a value already under root keeps its traversal so long as
 * it resolves below root), and objects that name an IPAM or a plugin with a data dir get one when they lack it
 * (an absent or empty dataDir means the host's default). Returns the conf.
 */
export function confine(conf: unknown, root: string): unknown {
  const inside = (v: unknown) => typeof v === "string" && v.startsWith(`${root}/`) && !v.includes("\u0000") && resolvePosix(v).startsWith(`${root}/`);
  const visit = (v: unknown, depth: number) => {
    if (depth > 64 || v === null || typeof v !== "object") return;
    if (Array.isArray(v)) {
      for (const x of v) visit(x, depth + 1);
      return;
    }
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const f = k.toLowerCase().replaceAll("\u017f", "s"); // Go's EqualFold also folds ſ to s (and K, the Kelvin sign, to k)
      if ((f === "datadir" || f === "daemonsocketpath" || f === "socketpath" || f === "subnetfile") && !inside(o[k])) o[k] = `${root}/forced-${f}`;
      else visit(o[k], depth + 1);
    }
  };
  visit(conf, 0);
  return conf;
}

/** Returns a POSIX path with "." and ".." resolved textually (as path.resolve, without the cwd for absolute paths). */
export function resolvePosix(p: string): string {
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

/** Returns CNI_ARGS text: sometimes valid pairs the plugins know, sometimes garbage. */
export function nastyCniArgs(rng: Prng): string {
  const pairs: string[] = [];
  const n = rng.range(0, 4);
  for (let i = 0; i < n; i++) {
    const key = rng.pick(["IgnoreUnknown", "IP", "MAC", "GATEWAY", "K8S_POD_NAME", "K8S_POD_NAMESPACE", "ignoreunknown", nastyString(rng)]);
    const value = rng.pick(["1", "true", "false", "10.1.2.3", "10.1.2.3/24", "fd00::5", "02:00:00:00:00:01", nastyString(rng)]);
    pairs.push(rng.chance(0.9) ? `${key}=${value}` : rng.pick([key, `${key}==${value}`, `=${value}`, ""]));
  }
  let s = pairs.join(rng.chance(0.9) ? ";" : ",");
  if (rng.chance(0.1)) s += ";";
  return s;
}

/** printf formats (octal escapes) for env values that are not valid UTF-8; the runner's shell decodes them. */
export const RAW_ENV_VALUES: readonly string[] = ["\\377", "eth\\377", "a\\300\\200b", "\\355\\240\\200", "ctr\\376\\377", "\\200"];
