// ipam/host-local/resolv.ts: the `resolvConf` option: a resolv.conf file read into the result's dns (upstream dns.go).
import * as fs from "../../pkg/sys/fs.ts";
import type { DNS } from "../../pkg/cni/types.ts";
import { goPathError } from "../../pkg/sys/go-path-error.ts";

/** Returns the DNS settings of a resolv.conf file; throws a Go-worded error when it cannot be read. */
export function readResolvConf(file: string): DNS {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw goPathError(file, e);
  }
  return parseResolvConf(text);
}

/**
 * Returns the DNS settings in resolv.conf text: every `nameserver` (first word after it), the last `domain`,
 * every word of every `search` and `options` line. Comment lines (`#`, `;`) and lines without a value are skipped.
 */
export function parseResolvConf(text: string): DNS {
  const dns: DNS = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line[0] === "#" || line[0] === ";") continue;
    const fields = line.split(/\s+/);
    if (fields.length < 2) continue;
    const [key, ...values] = fields as [string, ...string[]];
    switch (key) {
      case "nameserver":
        (dns.nameservers ??= []).push(values[0]!);
        break;
      case "domain":
        dns.domain = values[0]!;
        break;
      case "search":
        (dns.search ??= []).push(...values);
        break;
      case "options":
        (dns.options ??= []).push(...values);
        break;
    }
  }
  return dns;
}
