// meta/flannel/flannel.test.ts: flannel's network config decoded as upstream's loadFlannelNetConf does (its own
// examples, defaults, Go's decode errors). No root.
import { expect, test } from "bun:test";
import { DEFAULT_SUBNET_FILE, loadConf } from "./flannel.ts";
import { DEFAULT_DATA_DIR } from "./scratch.ts";

const load = (o: object | string) => loadConf(new TextEncoder().encode(typeof o === "string" ? o : JSON.stringify(o)));

test("upstream's example: subnetFile and dataDir as given", () => {
  const c = load('\n{\n    "name": "cni-flannel",\n    "type": "flannel",\n    "subnetFile": "/tmp/subnet.env123",\n    "dataDir": "/tmp/dataDir456"\n}');
  expect(c).toEqual({ cniVersion: "", name: "cni-flannel", subnetFile: "/tmp/subnet.env123", dataDir: "/tmp/dataDir456", ipam: undefined, delegate: undefined, runtimeConfig: undefined });
});

test("upstream's example: the defaults", () => {
  const c = load('{\n"name": "cni-flannel",\n"type": "flannel"\n}');
  expect([c.subnetFile, c.dataDir]).toEqual([DEFAULT_SUBNET_FILE, DEFAULT_DATA_DIR]);
  expect([DEFAULT_SUBNET_FILE, DEFAULT_DATA_DIR]).toEqual(["/run/flannel/subnet.env", "/var/lib/cni/flannel"]);
  // null keeps the default; "" is a value (upstream then opens "" and fails).
  expect(load({ name: "n", subnetFile: null, dataDir: null })).toMatchObject({ subnetFile: DEFAULT_SUBNET_FILE, dataDir: DEFAULT_DATA_DIR });
  expect(load({ name: "n", subnetFile: "", dataDir: "" })).toMatchObject({ subnetFile: "", dataDir: "" });
});

test("keys match case-insensitively; maps come as decoded, numbers as float64", () => {
  const c = load({ cniversion: "1.0.0", NAME: "n", SubnetFile: "/s", DATADIR: "/d", Delegate: { mtu: 1.0, type: "bridge" }, IPAM: { routes: [] }, RuntimeConfig: { x: 1 } });
  expect(c).toEqual({ cniVersion: "1.0.0", name: "n", subnetFile: "/s", dataDir: "/d", delegate: { mtu: 1, type: "bridge" }, ipam: { routes: [] }, runtimeConfig: { x: 1 } });
});

test("what upstream's types.NetConf does not check is not checked (args, prevResult's shape)", () => {
  expect(load({ name: "n", args: "x", prevResult: { cniVersion: "9.9.9", ips: "nope" } }).name).toBe("n");
});

test("decode errors read like Go's", () => {
  const cases: [object, string][] = [
    [{ subnetFile: 5 }, "json: cannot unmarshal number into Go struct field NetConf.subnetFile of type string"],
    [{ dataDir: true }, "json: cannot unmarshal bool into Go struct field NetConf.dataDir of type string"],
    [{ delegate: "bridge" }, "json: cannot unmarshal string into Go struct field NetConf.delegate of type map[string]interface {}"],
    [{ delegate: [] }, "json: cannot unmarshal array into Go struct field NetConf.delegate of type map[string]interface {}"],
    [{ ipam: 5 }, "json: cannot unmarshal number into Go struct field NetConf.ipam of type map[string]interface {}"],
    [{ runtimeConfig: "x" }, "json: cannot unmarshal string into Go struct field NetConf.runtimeConfig of type map[string]interface {}"],
    [{ capabilities: { a: "yes" } }, "json: cannot unmarshal string into Go struct field NetConf.capabilities of type bool"],
    [{ dns: { nameservers: "x" } }, "json: cannot unmarshal string into Go struct field DNS.dns.nameservers of type []string"],
    [{ type: 5 }, "json: cannot unmarshal number into Go struct field NetConf.type of type string"],
  ];
  for (const [extra, msg] of cases) expect(() => load({ name: "n", ...extra })).toThrow(`failed to load netconf: ${msg}`);
  expect(() => load('{"name":"n","delegate":{"mtu":1e400}}')).toThrow("failed to load netconf: json: cannot unmarshal number 1e400 into Go struct field NetConf.delegate of type float64");
});
