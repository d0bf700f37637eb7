// meta/flannel/delegate-conf.test.ts: the delegate config rendered from flannel's config and subnet.env, against the
// examples of upstream's flannel_linux_test.go (their inputs verbatim, their expected JSON compared as MatchJSON
// does) and, byte for byte, the text Go's json.Marshal writes for them; then the rules around the examples. No root.
import { describe, expect, test } from "bun:test";
import { loadConf } from "./flannel.ts";
import { renderDelegate } from "./delegate-conf.ts";
import { goMarshal } from "./go-marshal.ts";
import { parseSubnetEnv } from "./subnet-env.ts";

const enc = (s: string) => new TextEncoder().encode(s);

// upstream's subnet.env files.
const ENV = {
  v4: "\nFLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n",
  v6: "\nFLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n",
  dual: "\nFLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n",
  two: "\nFLANNEL_NETWORK=10.1.0.0/16,192.168.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n",
};

// upstream's input templates (inputTemplate, inputIPAMTemplate, makeInputIPAM, makeInput).
const IPAM_ROUTES = `
      { "dst": "10.96.0.0/12" },
      { "dst": "192.168.244.0/24", "gw": "10.1.17.20" }`;
function makeInputIPAM(ipamType: string, routes: string, extra: string): string {
  let c = "{\n";
  if (ipamType) c += `    "type": "${ipamType}",`;
  c += `\n    "unknown-param": "unknown-value",\n    "routes": [${routes}]${extra}`;
  return c + "\n}";
}
function makeInput(inputIPAM: string): string {
  const ipamPart = inputIPAM ? `,\n  "ipam":\n${inputIPAM}` : "";
  return `\n{\n    "name": "cni-flannel",\n    "type": "flannel",\n    "subnetFile": "/x/subnet.env",\n    "dataDir": "/x/data"${ipamPart}\n}`;
}

/** The delegate config as the scratch file holds it, for an input text and a subnet.env text. */
function rendered(input: string | object, env: string): string {
  const conf = loadConf(enc(typeof input === "string" ? input : JSON.stringify(input)));
  return goMarshal(renderDelegate(conf, parseSubnetEnv(enc(env), "/x/subnet.env")));
}
const ipamOf = (input: string, env: string) => goMarshal((JSON.parse(rendered(input, env)) as { ipam: unknown }).ipam);

describe("upstream's CNI lifecycle examples: the scratch file", () => {
  const cases: [string, string, object, string][] = [
    ["IPv4", ENV.v4,
      { ipMasq: false, ipam: { routes: [{ dst: "10.1.0.0/16" }], ranges: [[{ subnet: "10.1.17.0/24" }]], type: "host-local" }, isGateway: true, mtu: 1472, name: "cni-flannel", type: "bridge" },
      '{"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"}],"type":"host-local"},"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}'],
    ["IPv4, two networks", ENV.two,
      { ipMasq: false, ipam: { routes: [{ dst: "10.1.0.0/16" }, { dst: "192.168.0.0/16" }], ranges: [[{ subnet: "10.1.17.0/24" }]], type: "host-local" }, isGateway: true, mtu: 1472, name: "cni-flannel", type: "bridge" },
      '{"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"},{"dst":"192.168.0.0/16"}],"type":"host-local"},"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}'],
    ["IPv6", ENV.v6,
      { ipMasq: false, ipam: { routes: [{ dst: "fc00::/48" }], ranges: [[{ subnet: "fc00::/64" }]], type: "host-local" }, isGateway: true, mtu: 1472, name: "cni-flannel", type: "bridge" },
      '{"ipMasq":false,"ipam":{"ranges":[[{"subnet":"fc00::/64"}]],"routes":[{"dst":"fc00::/48"}],"type":"host-local"},"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}'],
    ["dual stack", ENV.dual,
      { ipMasq: false, ipam: { routes: [{ dst: "10.1.0.0/16" }, { dst: "fc00::/48" }], ranges: [[{ subnet: "10.1.17.0/24" }], [{ subnet: "fc00::/64" }]], type: "host-local" }, isGateway: true, mtu: 1472, name: "cni-flannel", type: "bridge" },
      '{"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}],[{"subnet":"fc00::/64"}]],"routes":[{"dst":"10.1.0.0/16"},{"dst":"fc00::/48"}],"type":"host-local"},"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}'],
  ];
  test.each(cases)("%s", (_name, env, matchJSON, bytes) => {
    const text = rendered(makeInput(""), env);
    expect(JSON.parse(text)).toEqual(matchJSON);
    expect(text).toBe(bytes);
  });
});

describe("upstream's getDelegateIPAM examples", () => {
  test("input IPAM, IPv4: its type, unknown keys and routes kept, the cluster route appended, ranges set", () => {
    const ipam = ipamOf(makeInput(makeInputIPAM("my-ipam", IPAM_ROUTES, "")), ENV.v4);
    const expected = makeInputIPAM("my-ipam", `${IPAM_ROUTES},\n{ "dst": "10.1.0.0/16" }\n`, `,\n"ranges": [[{"subnet": "10.1.17.0/24"}]]`);
    expect(JSON.parse(ipam)).toEqual(JSON.parse(expected));
    expect(ipam).toBe('{"ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.96.0.0/12"},{"dst":"192.168.244.0/24","gw":"10.1.17.20"},{"dst":"10.1.0.0/16"}],"type":"my-ipam","unknown-param":"unknown-value"}');
  });

  test("input IPAM, two IPv4 networks", () => {
    // upstream's test builds this input but then loads the default one; both give the same IPAM routes and ranges.
    const ipam = ipamOf(makeInput(makeInputIPAM("host-local", "", "")), ENV.two);
    expect(ipam).toBe('{"ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"},{"dst":"192.168.0.0/16"}],"type":"host-local","unknown-param":"unknown-value"}');
    expect(ipamOf(makeInput(""), ENV.two)).toBe('{"ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"},{"dst":"192.168.0.0/16"}],"type":"host-local"}');
  });

  test("input IPAM, IPv6", () => {
    const ipam = ipamOf(makeInput(makeInputIPAM("my-ipam", IPAM_ROUTES, "")), ENV.v6);
    const expected = makeInputIPAM("my-ipam", `${IPAM_ROUTES},\n{ "dst": "fc00::/48" }\n`, `,\n"ranges": [[{ "subnet": "fc00::/64" }]]`);
    expect(JSON.parse(ipam)).toEqual(JSON.parse(expected));
  });

  test("input IPAM, dual stack", () => {
    const ipam = ipamOf(makeInput(makeInputIPAM("my-ipam", IPAM_ROUTES, "")), ENV.dual);
    const expected = makeInputIPAM("my-ipam", `${IPAM_ROUTES},\n{ "dst": "10.1.0.0/16" },\n{ "dst": "fc00::/48" }\n`, `,\n"ranges": [[{ "subnet": "10.1.17.0/24" }],\n[{ "subnet": "fc00::/64" }]]`);
    expect(JSON.parse(ipam)).toEqual(JSON.parse(expected));
    expect(ipam).toBe('{"ranges":[[{"subnet":"10.1.17.0/24"}],[{"subnet":"fc00::/64"}]],"routes":[{"dst":"10.96.0.0/12"},{"dst":"192.168.244.0/24","gw":"10.1.17.20"},{"dst":"10.1.0.0/16"},{"dst":"fc00::/48"}],"type":"my-ipam","unknown-param":"unknown-value"}');
  });

  test.each([["IPv4", ENV.v4, "10.1.0.0/16"], ["IPv6", ENV.v6, "fc00::/48"]])("input IPAM without type, %s: host-local", (_n, env, net) => {
    const ipam = JSON.parse(ipamOf(makeInput(makeInputIPAM("", IPAM_ROUTES, "")), env));
    expect(ipam.type).toBe("host-local");
    expect(ipam.routes).toEqual([{ dst: "10.96.0.0/12" }, { dst: "192.168.244.0/24", gw: "10.1.17.20" }, { dst: net }]);
  });
});

describe("the delegate dictionary and the defaults", () => {
  const base = { cniVersion: "1.0.0", name: "fl", type: "flannel" };

  test("cniVersion is ours when we have one; a delegate's own is kept only when we have none", () => {
    expect(JSON.parse(rendered({ ...base, delegate: { cniVersion: "0.3.1" } }, ENV.v4)).cniVersion).toBe("1.0.0");
    const { cniVersion: _v, ...unversioned } = base;
    expect(JSON.parse(rendered({ ...unversioned, delegate: { cniVersion: "0.3.1" } }, ENV.v4)).cniVersion).toBe("0.3.1");
    expect(JSON.parse(rendered(unversioned, ENV.v4))).not.toHaveProperty("cniVersion");
  });

  test("ipMasq is the opposite of FLANNEL_IPMASQ; mtu is FLANNEL_MTU", () => {
    const env = ENV.v4.replace("FLANNEL_IPMASQ=true", "FLANNEL_IPMASQ=false").replace("1472", "8951");
    expect(JSON.parse(rendered(base, env))).toMatchObject({ ipMasq: true, mtu: 8951 });
  });

  test("the delegate's own ipMasq, mtu, isGateway win, even null; other keys pass through", () => {
    const d = { ipMasq: true, mtu: 1400, isGateway: false, bridge: "cbr0", hairpinMode: true, isDefaultGateway: true };
    expect(rendered({ ...base, delegate: d }, ENV.v4)).toBe(
      '{"bridge":"cbr0","cniVersion":"1.0.0","hairpinMode":true,"ipMasq":true,"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"}],"type":"host-local"},"isDefaultGateway":true,"isGateway":false,"mtu":1400,"name":"fl","type":"bridge"}',
    );
    expect(JSON.parse(rendered({ ...base, delegate: { ipMasq: null, mtu: null } }, ENV.v4))).toMatchObject({ ipMasq: null, mtu: null });
  });

  test("another type: no isGateway; keys are exact, as in a Go map", () => {
    const out = JSON.parse(rendered({ ...base, delegate: { type: "ipvlan", master: "eth0", Name: "x", IPMasq: true } }, ENV.v4));
    expect(out).toMatchObject({ type: "ipvlan", master: "eth0", name: "fl", Name: "x", IPMasq: true, ipMasq: false, mtu: 1472 });
    expect(out).not.toHaveProperty("isGateway");
  });

  test("runtimeConfig is passed on, replacing the delegate's", () => {
    const rc = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }], mac: "aa:bb:cc:dd:ee:ff" };
    expect(JSON.parse(rendered({ ...base, runtimeConfig: rc, delegate: { runtimeConfig: { a: 1 } } }, ENV.v4)).runtimeConfig).toEqual(rc);
    expect(JSON.parse(rendered({ ...base, delegate: { runtimeConfig: { a: 1 } } }, ENV.v4)).runtimeConfig).toEqual({ a: 1 });
    expect(JSON.parse(rendered({ ...base, runtimeConfig: {} }, ENV.v4)).runtimeConfig).toEqual({});
    expect(JSON.parse(rendered({ ...base, runtimeConfig: null }, ENV.v4))).not.toHaveProperty("runtimeConfig");
  });

  test("numbers come back as float64 prints them; strings HTML-escaped", () => {
    expect(rendered({ ...base, delegate: { a: 1.0, b: 1e3, c: 2.50, d: "<&>" } }, ENV.v4)).toStartWith('{"a":1,"b":1000,"c":2.5,"cniVersion":"1.0.0","d":"\\u003c\\u0026\\u003e",');
  });

  test("the ipam object: type kept even when null, ranges replaced, other keys kept", () => {
    const out = JSON.parse(rendered({ ...base, ipam: { type: null, ranges: [[{ subnet: "1.2.3.0/24" }]], dataDir: "/d", Ranges: 1 } }, ENV.v4));
    expect(out.ipam).toEqual({ type: null, ranges: [[{ subnet: "10.1.17.0/24" }]], routes: [{ dst: "10.1.0.0/16" }], dataDir: "/d", Ranges: 1 });
  });
});

describe("ipam.routes come back as types.Route", () => {
  const base = { cniVersion: "1.0.0", name: "fl", type: "flannel" };
  const routesOf = (routes: unknown) => JSON.stringify((JSON.parse(rendered({ ...base, ipam: { routes } }, ENV.v4)) as any).ipam.routes);

  test("fields in types.Route's order, zeros left out, table and scope kept when set, unknown keys dropped", () => {
    expect(routesOf([{ scope: 0, table: 0, priority: 5, advmss: 0, mtu: 1400, gw: "10.1.17.1", dst: "10.96.0.0/12", x: 1 }]))
      .toBe('[{"dst":"10.96.0.0/12","gw":"10.1.17.1","mtu":1400,"priority":5,"table":0,"scope":0},{"dst":"10.1.0.0/16"}]');
  });
  test("host bits and Go's IP text: kept and canonical", () => {
    expect(routesOf([{ DST: "10.96.1.2/12", GW: "::FFFF:10.1.1.1" }, { dst: "FC00:0:0::1/64", gw: "" }]))
      .toBe('[{"dst":"10.96.1.2/12","gw":"10.1.1.1"},{"dst":"fc00::1/64"},{"dst":"10.1.0.0/16"}]');
  });
  test("the generic value is marshalled first, so an integral float is an int", () => {
    expect(routesOf([{ dst: "10.96.0.0/12", mtu: 1400.0, priority: 1e2 }])).toBe('[{"dst":"10.96.0.0/12","mtu":1400,"priority":100},{"dst":"10.1.0.0/16"}]');
  });
  test("upstream quirk: a route without dst, or null, comes back with dst \"<nil>\"; null routes mean none", () => {
    expect(routesOf([{ gw: "10.1.1.1" }, null])).toBe('[{"dst":"<nil>","gw":"10.1.1.1"},{"dst":"<nil>"},{"dst":"10.1.0.0/16"}]');
    expect(rendered({ ...base, ipam: { routes: [null] } }, ENV.v4)).toContain('"routes":[{"dst":"\\u003cnil\\u003e"},');
    expect(routesOf(null)).toBe('[{"dst":"10.1.0.0/16"}]');
  });

  const prefix = "failed to assemble Delegate IPAM: failed to read IPAM routes: failed to parse ipam.routes: ";
  const errors: [unknown, string][] = [
    ["x", "json: cannot unmarshal string into Go value of type []types.Route"],
    [{}, "json: cannot unmarshal object into Go value of type []types.Route"],
    [[5], "json: cannot unmarshal number into Go value of type types.route"],
    [[{ dst: "10.0.0.0" }], "invalid CIDR address: 10.0.0.0"],
    [[{ dst: null }], "invalid CIDR address: "],
    [[{ dst: 5 }], "json: cannot unmarshal number into Go struct field route.dst of type string"],
    [[{ dst: "10.0.0.0/8", gw: "x" }], "invalid IP address: x"],
    [[{ dst: "10.0.0.0/8", gw: 5 }], "json: cannot unmarshal number into Go struct field route.gw of type net.IP"],
    [[{ dst: "10.0.0.0/8", mtu: "1400" }], "json: cannot unmarshal string into Go struct field route.mtu of type int"],
    [[{ dst: "10.0.0.0/8", mtu: 1.5 }], "json: cannot unmarshal number 1.5 into Go struct field route.mtu of type int"],
    [[{ dst: "10.0.0.0/8", table: 1e21 }], "json: cannot unmarshal number 1e+21 into Go struct field route.table of type int"],
  ];
  test.each(errors)("%j: %s", (routes, msg) => {
    expect(() => rendered({ ...base, ipam: { routes } }, ENV.v4)).toThrow(prefix + msg);
  });
});

describe("errors", () => {
  const base = { cniVersion: "1.0.0", name: "fl", type: "flannel" };
  const cases: [object, string][] = [
    [{ type: 5 }, "'delegate' dictionary, if present, must have (string) 'type' field"],
    [{ type: null }, "'delegate' dictionary, if present, must have (string) 'type' field"],
    [{ name: "x" }, "'delegate' dictionary must not have 'name' field, it'll be set by flannel"],
    [{ name: null }, "'delegate' dictionary must not have 'name' field, it'll be set by flannel"],
    [{ ipam: {} }, "'delegate' dictionary must not have 'ipam' field, it'll be set by flannel"],
    // The type check comes first.
    [{ type: 5, name: "x", ipam: {} }, "'delegate' dictionary, if present, must have (string) 'type' field"],
  ];
  test.each(cases)("delegate %j", (delegate, msg) => {
    expect(() => rendered({ ...base, delegate }, ENV.v4)).toThrow(msg);
  });
  test("a bad delegate is reported before bad routes", () => {
    expect(() => rendered({ ...base, delegate: { name: "x" }, ipam: { routes: 5 } }, ENV.v4)).toThrow("'delegate' dictionary must not have 'name'");
  });
});
