// pkg/cni/dns.ts: the config's own `dns`, which main plugins put into their result over what IPAM returned.

import type { DNS } from "./types.ts";

/** Returns whether the config sets any dns field (upstream dnsConfSet): then it replaces IPAM's dns in the result. */
export function isDnsSet(d: DNS | undefined): d is DNS {
  return d !== undefined && (d.nameservers !== undefined || d.search !== undefined || d.options !== undefined || !!d.domain);
}
