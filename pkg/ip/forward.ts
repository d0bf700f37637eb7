// pkg/ip/forward.ts: turn on forwarding for the families a result uses (upstream ip.EnableForward); call it in the
// host netns. A value is written only when it differs, so a read-only /proc/sys that is already right is fine.
import type { IPConfig } from "../cni/types.ts";
import { readSysctl, writeSysctl } from "./sysctl.ts";

const KEYS = { 4: "net/ipv4/ip_forward", 6: "net/ipv6/conf/all/forwarding" } as const;

/** Enables IPv4 and/or IPv6 forwarding as the IPs need; throws when a sysctl cannot be set. */
export function enableForward(ips: IPConfig[]): void {
  const families = new Set(ips.map((ip) => (ip.address.includes(":") ? 6 : 4) as 4 | 6));
  for (const f of families) {
    const key = KEYS[f];
    if (readSysctl(key) !== "1") writeSysctl(key, "1");
  }
}
