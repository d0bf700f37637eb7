// ipam/dhcp/config.test.ts: the network config as upstream's NetConf decodes it, with Go's error texts.
import { expect, test } from "bun:test";
import { loadConf } from "./config.ts";

const enc = (o: unknown) => new TextEncoder().encode(typeof o === "string" ? o : JSON.stringify(o));
const P = "error obtaining socketPath: error parsing socket path conf";

test("fields, defaults and case-insensitive keys", () => {
  expect(loadConf(enc({ cniVersion: "1.0.0", name: "n", ipam: { type: "dhcp" } }), P)).toEqual({
    name: "n", cniVersion: "1.0.0", socketPath: "/run/cni/dhcp.sock", provide: [], request: [], priority: 0,
  });
  const c = loadConf(enc({
    name: "n",
    IPAM: {
      DaemonSocketPath: "/tmp/x.sock", priority: 7,
      provide: [{ option: "host-name", fromArg: "K8S_POD_NAME" }, null],
      Request: [{ skipDefault: true }, { option: "121" }],
    },
  }), P);
  expect(c).toEqual({
    name: "n", cniVersion: "", socketPath: "/tmp/x.sock", priority: 7,
    provide: [{ option: "host-name", value: "", fromArg: "K8S_POD_NAME" }, { option: "", value: "", fromArg: "" }],
    request: [{ option: "", skipDefault: true }, { option: "121", skipDefault: false }],
  });
});

test("wrong types name the Go field and type; no ipam is a clear error", () => {
  const bad = (o: unknown) => () => loadConf(enc(o), P);
  expect(bad({ name: "n", ipam: { daemonSocketPath: 5 } })).toThrow(`${P}: json: cannot unmarshal number into Go struct field IPAMConfig.ipam.daemonSocketPath of type string`);
  expect(bad({ name: "n", ipam: { provide: [{ option: 12 }] } })).toThrow("json: cannot unmarshal number into Go struct field ProvideOption.ipam.provide.option of type main.DHCPOption");
  expect(bad({ name: "n", ipam: { request: {} } })).toThrow("json: cannot unmarshal object into Go struct field IPAMConfig.ipam.request of type []main.RequestOption");
  expect(bad({ name: "n", ipam: { priority: 1.5 } })).toThrow("json: cannot unmarshal number 1.5 into Go struct field IPAMConfig.ipam.priority of type int");
  expect(bad({ name: "n", ipam: "dhcp" })).toThrow("json: cannot unmarshal string into Go struct field NetConf.ipam of type main.IPAMConfig");
  expect(bad({ name: "n" })).toThrow("IPAM config missing 'ipam' key");
});
