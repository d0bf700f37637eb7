// ipam/dhcp/options.ts: the DHCP options a lease sends, built from `ipam.provide`, `ipam.request` and CNI_ARGS as
// upstream's prepareOptions builds them (plugins/ipam/dhcp/lease.go, options.go), with its error texts.
import { goQuote } from "../../pkg/cni/args.ts";
import type { ProvideOption, RequestOption } from "./config.ts";
import { OPT_PARAMETER_REQUEST_LIST, OPT_ROUTER, OPT_SUBNET_MASK } from "./packet.ts";

/** One option to send: its code and value bytes. Later entries with the same code replace earlier ones. */
export interface SendOption {
  code: number;
  value: Uint8Array;
}

// dhcp-options(5) names upstream accepts; anything else must be a decimal code.
const OPTION_NAMES: Readonly<Record<string, number>> = {
  "dhcp-client-identifier": 61,
  "subnet-mask": 1,
  routers: 3,
  "host-name": 12,
  "user-class": 77,
  "vendor-class-identifier": 60,
};

// Asked for unless some `request` entry says skipDefault (upstream requestOptionsDefault, in its order).
const DEFAULT_REQUESTED = [OPT_ROUTER, OPT_SUBNET_MASK];
const MAX_VALUE_LEN = 255;

/** Returns the option code of a name or decimal text; throws upstream's text (Go's strconv error) otherwise. */
export function parseOptionName(option: string): number {
  if (Object.hasOwn(OPTION_NAMES, option)) return OPTION_NAMES[option]!;
  if (!/^[0-9]+$/.test(option)) throw new Error(`Can not parse option: strconv.ParseUint: parsing ${goQuote(option)}: invalid syntax`); // upstream text
  const n = Number(option);
  if (n > 255) throw new Error(`Can not parse option: strconv.ParseUint: parsing ${goQuote(option)}: value out of range`); // upstream text
  return n;
}

/** Returns CNI_ARGS as upstream's dhcp reads it: pairs split on the first `=`, pieces without one skipped, no errors. */
export function lenientArgs(cniArgs: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of cniArgs.split(";")) {
    const eq = pair.indexOf("=");
    if (eq >= 0) out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

/**
 * Returns the options every DHCP message of a lease carries besides the protocol's own: each `provide` value (text),
 * then the value of its `fromArg` key when CNI_ARGS has one, and the parameter request list (55). Throws upstream's
 * texts for an unknown option name or a value longer than 255 bytes.
 */
export function prepareOptions(cniArgs: string, provide: ProvideOption[], request: RequestOption[]): SendOption[] {
  const args = lenientArgs(cniArgs);
  const enc = new TextEncoder();
  const opts: SendOption[] = [];
  for (const p of provide) {
    const code = parseNamed(p.option);
    if (p.value.length > 0) {
      if (byteLength(p.value) > MAX_VALUE_LEN) throw new Error(`value too long for option ${goQuote(p.option)}: ${goQuote(p.value)}`); // upstream text
      opts.push({ code, value: enc.encode(p.value) });
    }
    // upstream quirk: an absent fromArg is the key "", which a CNI_ARGS piece "=x" does set.
    const fromArg = args.get(p.fromArg);
    if (fromArg !== undefined) {
      if (byteLength(fromArg) > MAX_VALUE_LEN) {
        // upstream text, which quotes the config value rather than the one that was too long
        throw new Error(`value too long for option ${goQuote(p.option)} from CNI_ARGS ${goQuote(p.fromArg)}: ${goQuote(p.value)}`);
      }
      opts.push({ code, value: enc.encode(fromArg) });
    }
  }

  const requested: number[] = [];
  const add = (c: number) => {
    if (!requested.includes(c)) requested.push(c);
  };
  let skipDefault = false;
  for (const r of request) {
    if (r.skipDefault) skipDefault = true;
    if (r.option === "") continue;
    add(parseNamed(r.option));
  }
  if (!skipDefault) DEFAULT_REQUESTED.forEach(add);
  if (requested.length > 0) opts.push({ code: OPT_PARAMETER_REQUEST_LIST, value: Uint8Array.from(requested) });
  return opts;
}

function parseNamed(option: string): number {
  try {
    return parseOptionName(option);
  } catch (e) {
    throw new Error(`Can not parse option ${goQuote(option)}: ${(e as Error).message}`); // upstream text
  }
}

function byteLength(s: string): number {
  return new TextEncoder().encode(s).length;
}
