// meta/flannel/subnet-env.test.ts: subnet.env read as upstream's loadFlannelSubnetEnv reads it: upstream's own test
// files (v4, v6, dual stack, two networks, "foo=bar"), then each key's parsing and Go's error texts. No root.
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { formatCIDR } from "../../pkg/ip/cidr.ts";
import { tempDir } from "../../test/support/temp-dir.ts";
import { loadSubnetEnv, parseSubnetEnv, type SubnetEnv } from "./subnet-env.ts";

const FILE = "/run/flannel/subnet.env";
const parse = (text: string) => parseSubnetEnv(new TextEncoder().encode(text), FILE);

/** The parsed file with CIDRs as text, so expectations read like the file. */
function shown(env: SubnetEnv) {
  return {
    networks: env.networks.map(formatCIDR),
    subnet: env.subnet && formatCIDR(env.subnet),
    ip6Networks: env.ip6Networks.map(formatCIDR),
    ip6Subnet: env.ip6Subnet && formatCIDR(env.ip6Subnet),
    mtu: env.mtu,
    ipMasq: env.ipMasq,
  };
}

// upstream's flannel_linux_test.go files, verbatim.
const V4 = "\nFLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n";
const V6 = "\nFLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n";
const DUAL = "\nFLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n";
const TWO = "\nFLANNEL_NETWORK=10.1.0.0/16,192.168.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n";

describe("upstream's examples", () => {
  test("IPv4 only: the subnet comes back as its network address", () => {
    expect(shown(parse(V4))).toEqual({ networks: ["10.1.0.0/16"], subnet: "10.1.17.0/24", ip6Networks: [], ip6Subnet: undefined, mtu: 1472, ipMasq: true });
  });
  test("IPv6 only", () => {
    expect(shown(parse(V6))).toEqual({ networks: [], subnet: undefined, ip6Networks: ["fc00::/48"], ip6Subnet: "fc00::/64", mtu: 1472, ipMasq: true });
  });
  test("dual stack", () => {
    expect(shown(parse(DUAL))).toEqual({ networks: ["10.1.0.0/16"], subnet: "10.1.17.0/24", ip6Networks: ["fc00::/48"], ip6Subnet: "fc00::/64", mtu: 1472, ipMasq: true });
  });
  test("two IPv4 networks", () => {
    expect(shown(parse(TWO)).networks).toEqual(["10.1.0.0/16", "192.168.0.0/16"]);
  });
  test("a file with none of the keys names them all", () => {
    expect(() => parse("foo=bar")).toThrow(`${FILE} is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ`);
  });
});

describe("missing keys", () => {
  const cases: [string, string][] = [
    ["FLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1\nFLANNEL_IPMASQ=true", "FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK"],
    ["FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_MTU=1\nFLANNEL_IPMASQ=true", "FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET"],
    ["FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_IPMASQ=true", "FLANNEL_MTU"],
    ["FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1", "FLANNEL_IPMASQ"],
    ["FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24", "FLANNEL_MTU, FLANNEL_IPMASQ"],
    ["", "FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ"],
    // Keys are exact: no trimming, no case folding.
    [" FLANNEL_MTU=1\nflannel_ipmasq=true\nFLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24", "FLANNEL_MTU, FLANNEL_IPMASQ"],
  ];
  test.each(cases)("%j is missing %s", (text, keys) => {
    expect(() => parse(text)).toThrow(`${FILE} is missing ${keys}`);
  });

  test("one family's network with the other's subnet is enough for upstream", () => {
    const env = parse("FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=false");
    expect(shown(env)).toEqual({ networks: ["10.1.0.0/16"], subnet: undefined, ip6Networks: [], ip6Subnet: "fc00::/64", mtu: 1400, ipMasq: false });
  });
});

describe("values", () => {
  const base = "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n";

  test("FLANNEL_IPMASQ is true only for exactly `true`", () => {
    for (const v of ["True", "TRUE", "1", "yes", "", "true "]) expect(parse(`${base}FLANNEL_IPMASQ=${v}`).ipMasq).toBe(false);
    expect(parse(`${base}FLANNEL_IPMASQ=true`).ipMasq).toBe(true);
  });

  test("the last line of a key wins; a network list is replaced, not merged", () => {
    const env = parse(`${base}FLANNEL_MTU=1400\nFLANNEL_NETWORK=10.2.0.0/16\nFLANNEL_SUBNET=10.2.3.4/24`);
    expect(shown(env)).toMatchObject({ networks: ["10.2.0.0/16"], subnet: "10.2.3.0/24", mtu: 1400 });
  });

  test("networks are normalised and de-duplicated, in file order", () => {
    const env = parse(`${base}FLANNEL_NETWORK=10.1.2.3/16,192.168.0.0/16,10.1.0.0/16,10.1.0.0/24\nFLANNEL_IPV6_NETWORK=fc00::1/48,fc00::/48,FC00:0::/48`);
    expect(shown(env)).toMatchObject({ networks: ["10.1.0.0/16", "192.168.0.0/16", "10.1.0.0/24"], ip6Networks: ["fc00::/48"] });
  });

  test("CRLF line ends, a missing final newline, blank lines and comments", () => {
    const env = parse("# flannel\r\n\r\nFLANNEL_NETWORK=10.1.0.0/16\r\nFLANNEL_SUBNET=10.1.17.1/24\r\nFLANNEL_MTU=1472\r\nFLANNEL_IPMASQ=true");
    expect(shown(env)).toMatchObject({ networks: ["10.1.0.0/16"], subnet: "10.1.17.0/24", mtu: 1472, ipMasq: true });
  });

  test("a value may itself hold `=` (only the first splits)", () => {
    expect(() => parse(`${base}FLANNEL_MTU=1=2`)).toThrow('strconv.ParseUint: parsing "1=2": invalid syntax');
  });

  test("an IPv4-mapped subnet prints as IPv4, as Go's IPNet.String does", () => {
    expect(shown(parse(`${base}FLANNEL_IPV6_SUBNET=::ffff:10.9.8.7/120`)).ip6Subnet).toBe("10.9.8.0/24");
  });

  const errors: [string, string][] = [
    ["FLANNEL_MTU=", 'strconv.ParseUint: parsing "": invalid syntax'],
    ["FLANNEL_MTU=1450 ", 'strconv.ParseUint: parsing "1450 ": invalid syntax'],
    ["FLANNEL_MTU=-1", 'strconv.ParseUint: parsing "-1": invalid syntax'],
    ["FLANNEL_MTU=+1", 'strconv.ParseUint: parsing "+1": invalid syntax'],
    ["FLANNEL_MTU=0x10", 'strconv.ParseUint: parsing "0x10": invalid syntax'],
    ["FLANNEL_MTU=1_000", 'strconv.ParseUint: parsing "1_000": invalid syntax'],
    ["FLANNEL_MTU=4294967296", 'strconv.ParseUint: parsing "4294967296": value out of range'],
    // Go checks left to right: the overflow comes before the letter.
    ["FLANNEL_MTU=99999999999x", 'strconv.ParseUint: parsing "99999999999x": value out of range'],
    ["FLANNEL_NETWORK=", "invalid CIDR address: "],
    ["FLANNEL_NETWORK=10.1.0.0/16,", "invalid CIDR address: "],
    ["FLANNEL_NETWORK=10.1.0.0/16, 10.2.0.0/16", "invalid CIDR address:  10.2.0.0/16"],
    ["FLANNEL_NETWORK=10.1.0.0", "invalid CIDR address: 10.1.0.0"],
    ["FLANNEL_SUBNET=10.1.0.0/33", "invalid CIDR address: 10.1.0.0/33"],
    ["FLANNEL_SUBNET=010.1.0.0/16", "invalid CIDR address: 010.1.0.0/16"],
    ["FLANNEL_IPV6_NETWORK=fc00::/129", "invalid CIDR address: fc00::/129"],
    ["FLANNEL_IPV6_SUBNET=fe80::1%eth0/64", "invalid CIDR address: fe80::1%eth0/64"],
  ];
  test.each(errors)("%s: %s", (line, msg) => {
    expect(() => parse(`${base}${line}\n`)).toThrow(msg);
  });
  test("the first bad line stops the parse, before the check for missing keys", () => {
    expect(() => parse("FLANNEL_SUBNET=x\nFLANNEL_MTU=y")).toThrow("invalid CIDR address: x");
  });

  test("a known key without `=` is an error (upstream panics); an unknown one is ignored", () => {
    expect(() => parse(`${base}FLANNEL_MTU\n`)).toThrow(`${FILE}: line "FLANNEL_MTU" has no "="`);
    expect(parse(`${base}SOMETHING\n`).mtu).toBe(1472);
  });

  test("a line of 64 KiB or more is bufio.Scanner's error; one byte less is read", () => {
    expect(() => parse(`${base}X=${"a".repeat(65536 - 2)}\n`)).toThrow("bufio.Scanner: token too long");
    expect(parse(`X=${"a".repeat(65535 - 2)}\n${base}`).mtu).toBe(1472);
  });
});

describe("reading the file", () => {
  test("a file on disk", () => {
    using dir = tempDir("flannel-env");
    writeFileSync(`${dir.path}/subnet.env`, V4);
    expect(shown(loadSubnetEnv(`${dir.path}/subnet.env`)).subnet).toBe("10.1.17.0/24");
  });
  test("Go's words for a file that does not open or read", () => {
    using dir = tempDir("flannel-env");
    mkdirSync(`${dir.path}/d`);
    expect(() => loadSubnetEnv(`${dir.path}/none`)).toThrow(`open ${dir.path}/none: no such file or directory`);
    expect(() => loadSubnetEnv(`${dir.path}/d`)).toThrow(`read ${dir.path}/d: is a directory`);
    expect(() => loadSubnetEnv("")).toThrow("open : no such file or directory");
  });
});
