// plugins/host-device/config.test.ts: the host-device config (no root): Go decoding, the runtime's deviceID on the
// PCI and auxiliary buses of a fake sysfs, DPDK mode, the ADD-only checks with upstream's words and codes, and MAC
// text as Go's net.ParseMAC takes it.
import { afterAll, describe, expect, test } from "bun:test";
import { CniError } from "../../pkg/cni/errors.ts";
import { buildFakeSysfs } from "../../test/support/host-device.ts";
import { RUN_PREFIX } from "../../test/support/netns.ts";
import { sweepTempDirs, tempDir } from "../../test/support/temp-dir.ts";
import { decodeConf, loadConf, parseGoMAC, validateForAdd } from "./config.ts";

const TAG = "hdconf";
afterAll(() => sweepTempDirs(`${RUN_PREFIX}-${TAG}-`));

const enc = (o: object) => new TextEncoder().encode(JSON.stringify(o));
const base = { cniVersion: "1.0.0", name: "hdnet", type: "host-device" };

/** Returns the error `fn` throws as {code, msg} (code 999 for a plain Error). */
function errorOf(fn: () => unknown): { code: number; msg: string } {
  try {
    fn();
  } catch (e) {
    return e instanceof CniError ? { code: e.code, msg: e.msg } : { code: 999, msg: (e as Error).message };
  }
  throw new Error("did not throw");
}

function fakeRoot() {
  const dir = tempDir(TAG);
  buildFakeSysfs(dir.path, {
    pci: [
      { addr: "0000:00:01.0", driver: "e1000e", net: ["enp0s1"] },
      { addr: "0000:00:03.0", driver: "vfio-pci" },
      { addr: "0000:00:06.0" },
    ],
    aux: [{ name: "mlx5_core.sf.4", parentPci: "0000:00:01.0", net: ["enp0s1s4"] }],
  });
  return dir;
}

describe("loadConf", () => {
  test("each selector alone; the rest stay empty; no IPAM without an IPAM type", () => {
    using root = fakeRoot();
    const load = (o: object) => loadConf(enc({ ...base, ...o }), root.path);
    expect(load({ device: "eth1" })).toMatchObject({ device: "eth1", hwaddr: "", kernelpath: "", pciBusID: "", auxDevice: "", dpdkMode: false, hasIpam: false });
    expect(load({ hwaddr: "02:00:00:00:00:01" }).hwaddr).toBe("02:00:00:00:00:01");
    expect(load({ kernelpath: "/sys/devices/pci0000:00/0000:00:01.0" }).kernelpath).toBe("/sys/devices/pci0000:00/0000:00:01.0");
    expect(load({ pciBusID: "0000:00:01.0" })).toMatchObject({ pciBusID: "0000:00:01.0", dpdkMode: false });
    expect(load({ device: "eth1", ipam: {} }).hasIpam).toBe(false);
    expect(load({ device: "eth1", ipam: { type: "" } }).hasIpam).toBe(false);
    expect(load({ device: "eth1", ipam: { type: "static" } }).hasIpam).toBe(true);
  });

  test("keys match case-insensitively, as Go's encoding/json", () => {
    using root = fakeRoot();
    const c = loadConf(enc({ ...base, Device: "eth1", HWADDR: "02:00:00:00:00:01", PCIBUSID: "0000:00:01.0", RuntimeConfig: {} }), root.path);
    expect(c).toMatchObject({ device: "eth1", hwaddr: "02:00:00:00:00:01", pciBusID: "0000:00:01.0" });
  });

  test("nothing named: upstream's words, code 7", () => {
    using root = fakeRoot();
    const want = { code: 7, msg: `specify either "device", "hwaddr", "kernelpath" or "pciBusID"` };
    expect(errorOf(() => loadConf(enc(base), root.path))).toEqual(want);
    expect(errorOf(() => loadConf(enc({ ...base, device: "", runtimeConfig: { deviceID: "" } }), root.path))).toEqual(want);
  });

  test("runtimeConfig.deviceID on the PCI bus overrides pciBusID", () => {
    using root = fakeRoot();
    const c = loadConf(enc({ ...base, pciBusID: "0000:00:06.0", runtimeConfig: { deviceID: "0000:00:01.0" } }), root.path);
    expect(c).toMatchObject({ pciBusID: "0000:00:01.0", auxDevice: "", dpdkMode: false });
  });

  test("runtimeConfig.deviceID on the auxiliary bus selects it and clears pciBusID", () => {
    using root = fakeRoot();
    const c = loadConf(enc({ ...base, pciBusID: "0000:00:03.0", runtimeConfig: { deviceID: "mlx5_core.sf.4" } }), root.path);
    expect(c).toMatchObject({ pciBusID: "", auxDevice: "mlx5_core.sf.4", dpdkMode: false });
  });

  test("runtimeConfig.deviceID on neither bus: upstream's words, code 7", () => {
    using root = fakeRoot();
    expect(errorOf(() => loadConf(enc({ ...base, device: "eth1", runtimeConfig: { deviceID: "0000:00:99.0" } }), root.path)))
      .toEqual({ code: 7, msg: "runtime config DeviceID 0000:00:99.0 not found or unsupported" });
  });

  test("DPDK mode from the PCI device's driver; an unbound device is an error", () => {
    using root = fakeRoot();
    expect(loadConf(enc({ ...base, pciBusID: "0000:00:03.0" }), root.path).dpdkMode).toBe(true);
    expect(loadConf(enc({ ...base, runtimeConfig: { deviceID: "0000:00:03.0" } }), root.path).dpdkMode).toBe(true);
    expect(errorOf(() => loadConf(enc({ ...base, pciBusID: "0000:00:06.0" }), root.path))).toEqual({
      code: 999,
      msg: `error with host device: lstat ${root.path}/sys/devices/pci0000:00/0000:00:06.0/driver: no such file or directory`,
    });
  });

  test("upstream quirk: a DPDKMode key sets DPDK mode; a pciBusID's driver decides over it", () => {
    using root = fakeRoot();
    expect(loadConf(enc({ ...base, device: "eth1", DPDKMode: true }), root.path).dpdkMode).toBe(true);
    expect(loadConf(enc({ ...base, pciBusID: "0000:00:01.0", dpdkmode: true }), root.path).dpdkMode).toBe(false);
  });

  test("wrong JSON types are decode errors in Go's words (code 999)", () => {
    using root = fakeRoot();
    const err = (o: object) => errorOf(() => loadConf(enc({ ...base, ...o }), root.path));
    expect(err({ device: 5 })).toEqual({ code: 999, msg: "failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.device of type string" });
    expect(err({ device: "x", runtimeConfig: { deviceID: 1 } })).toEqual({
      code: 999, msg: "failed to load netconf: json: cannot unmarshal number into Go struct field .runtimeConfig.deviceID of type string",
    });
    expect(err({ device: "x", runtimeConfig: "abc" })).toEqual({
      code: 999, msg: `failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.runtimeConfig of type struct { DeviceID string "json:\\"deviceID,omitempty\\"" }`,
    });
    expect(err({ device: "x", ipam: { type: 3 } })).toEqual({ code: 999, msg: "failed to load netconf: json: cannot unmarshal number into Go struct field IPAM.ipam.type of type string" });
    expect(err({ device: "x", DPDKMode: "yes" })).toEqual({ code: 999, msg: "failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.DPDKMode of type bool" });
  });

  test("decodeConf (STATUS) reads no sysfs: a deviceID that exists nowhere is fine", () => {
    expect(decodeConf(enc({ ...base, runtimeConfig: { deviceID: "0000:00:99.0" }, ipam: { type: "static" } })).hasIpam).toBe(true);
  });
});

describe("validateForAdd", () => {
  const root = fakeRoot(); // removed by the afterAll sweep
  const load = (o: object) => loadConf(enc({ ...base, ...o }), root.path);

  test("kernelpath must be under /sys/devices/ (upstream's words, code 7)", () => {
    for (const p of ["sys/devices/x", "/sys/class/net/eth0", "/sys/devices"]) {
      expect(errorOf(() => validateForAdd(load({ kernelpath: p })))).toEqual({
        code: 7, msg: `failed to find host device: kernel device path ${JSON.stringify(p)} must be absolute and begin with /sys/devices/`,
      });
    }
    expect(() => validateForAdd(load({ kernelpath: "/sys/devices/pci0000:00/0000:00:01.0" }))).not.toThrow();
  });

  test("hwaddr must be a MAC (upstream's words, code 7)", () => {
    expect(errorOf(() => validateForAdd(load({ hwaddr: "02:00:00:00:01" })))).toEqual({
      code: 7, msg: `failed to find host device: failed to parse MAC address "02:00:00:00:01": address 02:00:00:00:01: invalid MAC address`,
    });
  });

  test("only the selector in use is judged (device wins over the others)", () => {
    expect(() => validateForAdd(load({ device: "eth1", hwaddr: "bad", kernelpath: "relative" }))).not.toThrow();
    expect(() => validateForAdd(load({ hwaddr: "02:00:00:00:00:01", kernelpath: "relative" }))).not.toThrow();
  });

  test("0.1.0/0.2.0 without IPAM: nothing to print, refused before anything moves (code 999, upstream's words)", () => {
    for (const v of ["0.1.0", "0.2.0", ""]) {
      expect(errorOf(() => validateForAdd(load({ cniVersion: v, device: "eth1" })))).toEqual({ code: 999, msg: "cannot convert: no valid IP addresses" });
      expect(() => validateForAdd(load({ cniVersion: v, device: "eth1", ipam: { type: "static" } }))).not.toThrow();
    }
    expect(() => validateForAdd(load({ cniVersion: "0.3.0", device: "eth1" }))).not.toThrow();
  });
});

describe("parseGoMAC", () => {
  test("what net.ParseMAC takes, as lowercase colon hex", () => {
    expect(parseGoMAC("02:AB:00:00:00:01")).toBe("02:ab:00:00:00:01");
    expect(parseGoMAC("02-ab-00-00-00-01")).toBe("02:ab:00:00:00:01");
    expect(parseGoMAC("02ab.0000.0001")).toBe("02:ab:00:00:00:01");
    expect(parseGoMAC("00:00:00:00:fe:80:00:00")).toBe("00:00:00:00:fe:80:00:00");
    expect(parseGoMAC(Array(20).fill("0a").join(":"))).toBe(Array(20).fill("0a").join(":"));
  });

  test("and what it refuses", () => {
    for (const s of ["", "02:ab:00:00:00", "02:ab:00:00:00:01:02", "02:ab-00:00:00:01", "2:ab:00:00:00:01", "02ab.0000", "zz:00:00:00:00:00", "02:ab:00:00:00:01:"]) {
      expect([s, parseGoMAC(s)]).toEqual([s, undefined]);
    }
  });
});
