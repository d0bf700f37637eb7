// meta/firewall/config.test.ts: decoding with Go's rules and upstream's defaults, and the values refused before
// anything changes: backend, ingress policy, admin chain name (no root).
import { expect, test } from "bun:test";
import { CniError } from "../../pkg/cni/errors.ts";
import { configuredBackend, ingressPolicyOf, loadConf, validateAdminChain } from "./config.ts";

const stdin = (o: object) => new TextEncoder().encode(JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "firewall", ...o }));

test("defaults: auto backend, CNI-ADMIN, zone trusted, policy open; empty strings are defaults too", () => {
  const c = loadConf(stdin({}));
  expect(c).toEqual({ cniVersion: "1.0.0", name: "n", backend: "", adminChainName: "CNI-ADMIN", firewalldZone: "trusted", ingressPolicy: "" });
  expect(loadConf(stdin({ iptablesAdminChainName: "", firewalldZone: "" }))).toMatchObject({ adminChainName: "CNI-ADMIN", firewalldZone: "trusted" });
  expect(ingressPolicyOf(c)).toBe("open");
  expect(configuredBackend(c)).toBeUndefined();
});

test("keys match case-insensitively, as encoding/json does", () => {
  const c = loadConf(stdin({ Backend: "firewalld", IPTABLESADMINCHAINNAME: "X", firewalldzone: "internal", IngressPolicy: "isolated" }));
  expect(c).toMatchObject({ backend: "firewalld", adminChainName: "X", firewalldZone: "internal", ingressPolicy: "isolated" });
  expect(configuredBackend(c)).toBe("firewalld");
  expect(ingressPolicyOf(c)).toBe("isolated");
});

test("wrong JSON types and bad prevResults fail with upstream's texts", () => {
  expect(() => loadConf(stdin({ backend: 5 }))).toThrow(
    "failed to load netconf: json: cannot unmarshal number into Go struct field FirewallNetConf.backend of type string",
  );
  expect(() => loadConf(stdin({ ingressPolicy: true }))).toThrow("FirewallNetConf.ingressPolicy of type string");
  expect(() => loadConf(stdin({ prevResult: { cniVersion: "0.4.0", ips: [] } }))).toThrow(
    /^could not parse prevResult: could not parse prevResult: result type supports/,
  );
  const c = loadConf(stdin({ prevResult: { cniVersion: "1.0.0", interfaces: [{ name: "br0" }], ips: [{ address: "10.1.1.2/24", interface: 0 }] } }));
  expect(c.prevResult?.ips).toEqual([{ address: "10.1.1.2/24", interface: 0 }]);
});

test("an unknown backend or ingress policy is code 7, naming the field", () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return [(e as CniError).code, (e as CniError).msg, (e as CniError).details];
    }
    return undefined;
  };
  expect(code(() => configuredBackend(loadConf(stdin({ backend: "nftables" }))))).toEqual([
    7, 'unknown firewall backend "nftables"', '"backend" must be "iptables" or "firewalld" (or absent: firewalld when it is running, else iptables)',
  ]);
  expect(code(() => ingressPolicyOf(loadConf(stdin({ ingressPolicy: "Open" }))))).toEqual([
    7, 'unknown ingress policy: "Open"', '"ingressPolicy" must be "open", "same-bridge" or "isolated"',
  ]);
  expect(configuredBackend(loadConf(stdin({ backend: "iptables" })))).toBe("iptables");
});

test("admin chain names iptables would refuse are refused up front", () => {
  for (const ok of ["CNI-ADMIN", "MY_ADMIN.1", "A".repeat(28), "ünï"]) expect(() => validateAdminChain(ok)).not.toThrow();
  const bad: [string, string][] = [
    ["A".repeat(29), "longer than 28 bytes"],
    ["ü".repeat(15), "longer than 28 bytes"],
    ["-X", 'must not start with "-" or "!"'],
    ["!X", 'must not start with "-" or "!"'],
    ["a b", "must not contain whitespace, quotes or backslashes"],
    ['a"b', "must not contain whitespace, quotes or backslashes"],
    ["a\tb", "must not contain whitespace, quotes or backslashes"],
    ["FORWARD", "is a built-in chain, a verdict or CNI-FORWARD itself"],
    ["DROP", "is a built-in chain, a verdict or CNI-FORWARD itself"],
    ["CNI-FORWARD", "is a built-in chain, a verdict or CNI-FORWARD itself"],
  ];
  for (const [name, why] of bad) {
    expect(() => validateAdminChain(name)).toThrow(`invalid iptablesAdminChainName ${JSON.stringify(name)}: ${why}`);
  }
});
