// plugins/host-device/config.ts: host-device's network config (SPEC-DIGEST §1.6): which host device to move, named
// by `device`, `hwaddr`, `kernelpath`, `pciBusID` or the runtime's `runtimeConfig.deviceID` (a PCI or auxiliary-bus
// device), plus optional IPAM. Decoded with Go's encoding/json semantics; sysfs is read from `sysRoot` ("" = /sys).
import { loadNetConf, netConfFields } from "../../pkg/cni/conf.ts";
import { bool, DecodeError, str, struct, type Decoder } from "../../pkg/cni/decode.ts";
import { CniError, ERR_INTERNAL, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import type { NetConf } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { deviceIdKind, hasDpdkDriver } from "./sysfs.ts";

// Go names an anonymous struct type by its definition in type errors.
const RUNTIME_CONFIG_TYPE = 'struct { DeviceID string "json:\\"deviceID,omitempty\\"" }';
const runtimeConfigFields = struct("", { deviceID: str });
const runtimeConfig: Decoder<{ deviceID?: string }> = (v, at) => {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    const kind = Array.isArray(v) ? "array" : typeof v === "boolean" ? "bool" : typeof v === "string" ? "string" : "number";
    throw new DecodeError(`json: cannot unmarshal ${kind} into Go struct field NetConf.runtimeConfig of type ${RUNTIME_CONFIG_TYPE}`);
  }
  return runtimeConfigFields(v, at);
};

export const hostDeviceConfDecoder = struct("NetConf", {
  ...netConfFields,
  // types.IPAM: only its type is read here; the IPAM plugin reads the rest from stdin.
  ipam: struct("IPAM", { type: str }),
  device: str,
  hwaddr: str,
  // upstream quirk: the Go field has no json tag, so a "DPDKMode" key sets it; pciBusID's driver overrides it.
  DPDKMode: bool,
  kernelpath: str,
  pciBusID: str,
  runtimeConfig,
});

export interface HostDeviceConf extends NetConf {
  /** The device's name in the host netns. */
  device: string;
  hwaddr: string;
  kernelpath: string;
  /** PCI address (`0000:00:1f.6`), from the config or a runtime's PCI deviceID. */
  pciBusID: string;
  /** Auxiliary-bus device (`mlx5_core.sf.4`), from a runtime's deviceID only. */
  auxDevice: string;
  /** The PCI device is bound to a userspace driver: there is no netdev, nothing is moved or configured. */
  dpdkMode: boolean;
  hasIpam: boolean;
}

/**
 * Returns the decoded config with the runtime's deviceID applied and DPDK mode judged. Throws a plain Error for
 * undecodable JSON (`failed to load netconf: …`, code 999) or an unreadable PCI driver link, CniError 7 when no
 * device is named or the deviceID exists on no bus.
 */
export function loadConf(stdin: Uint8Array, sysRoot = ""): HostDeviceConf {
  const c = loadNetConf(stdin, hostDeviceConfDecoder);
  const rc = c.runtimeConfig as { deviceID?: string } | undefined;
  const conf: HostDeviceConf = {
    ...c,
    device: c.device ?? "",
    hwaddr: c.hwaddr ?? "",
    kernelpath: c.kernelpath ?? "",
    pciBusID: c.pciBusID ?? "",
    auxDevice: "",
    dpdkMode: c.DPDKMode ?? false,
    hasIpam: (c.ipam?.type ?? "") !== "",
  };
  // The runtime's standard device ID (device plugins, Multus) overrides pciBusID, upstream handleDeviceID.
  const deviceId = rc?.deviceID ?? "";
  if (deviceId !== "") {
    const kind = deviceIdKind(sysRoot, deviceId);
    if (kind === undefined) throw new CniError(ERR_INVALID_NETWORK_CONFIG, `runtime config DeviceID ${deviceId} not found or unsupported`); // upstream text
    if (kind === "pci") {
      conf.pciBusID = deviceId;
    } else {
      conf.pciBusID = "";
      conf.auxDevice = deviceId;
    }
  }
  if (!conf.device && !conf.hwaddr && !conf.kernelpath && !conf.pciBusID && !conf.auxDevice) {
    throw new CniError(ERR_INVALID_NETWORK_CONFIG, `specify either "device", "hwaddr", "kernelpath" or "pciBusID"`); // upstream text
  }
  if (conf.pciBusID) {
    try {
      conf.dpdkMode = hasDpdkDriver(sysRoot, conf.pciBusID);
    } catch (e) {
      throw new Error(`error with host device: ${(e as Error).message}`, { cause: e }); // upstream text
    }
  }
  return conf;
}

/** Returns just the decoded config, without sysfs (STATUS reads no more than this, as upstream cmdStatus). */
export function decodeConf(stdin: Uint8Array): NetConf & { hasIpam: boolean } {
  const c = loadNetConf(stdin, hostDeviceConfDecoder);
  return { ...c, hasIpam: (c.ipam?.type ?? "") !== "" };
}

/**
 * Throws, before ADD touches anything, what upstream would only find out after moving the device: a `kernelpath`
 * outside /sys/devices/, an `hwaddr` that is no MAC (code 7, upstream's texts), or a result that cannot be printed
 * (a 0.1.0/0.2.0 result needs an address, so without IPAM there is nothing to print: upstream's text, code 999).
 */
export function validateForAdd(conf: HostDeviceConf): void {
  // getLink's precedence: only the selector that will be used is judged.
  if (!conf.device && conf.hwaddr) {
    if (parseGoMAC(conf.hwaddr) === undefined) {
      throw new CniError(ERR_INVALID_NETWORK_CONFIG, `failed to find host device: failed to parse MAC address ${JSON.stringify(conf.hwaddr)}: address ${conf.hwaddr}: invalid MAC address`); // upstream text
    }
  } else if (!conf.device && conf.kernelpath) {
    if (!conf.kernelpath.startsWith("/sys/devices/")) {
      throw new CniError(ERR_INVALID_NETWORK_CONFIG, `failed to find host device: kernel device path ${JSON.stringify(conf.kernelpath)} must be absolute and begin with /sys/devices/`); // upstream text
    }
  }
  if (!conf.hasIpam && !versionAtLeast(conf.cniVersion || "0.1.0", "0.3.0")) {
    throw new CniError(ERR_INTERNAL, "cannot convert: no valid IP addresses", `a cniVersion ${conf.cniVersion || "0.1.0"} result holds only addresses: without "ipam" there is nothing to report`); // upstream text
  }
}

/**
 * Returns a hardware address as lowercase colon hex, accepting what Go's net.ParseMAC accepts (6, 8 or 20 bytes as
 * `xx:xx:…`, `xx-xx-…` or `xxxx.xxxx.…`), or undefined when it is none of those.
 */
export function parseGoMAC(s: string): string | undefined {
  let bytes: string[];
  if (/^[0-9a-fA-F]{4}(\.[0-9a-fA-F]{4})+$/.test(s)) {
    bytes = s.split(".").flatMap((g) => [g.slice(0, 2), g.slice(2)]);
  } else if (/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2})+$/.test(s)) {
    const sep = s[2]!;
    if (s.split(sep).some((g) => g.length !== 2)) return undefined; // one separator throughout
    bytes = s.split(sep);
  } else {
    return undefined;
  }
  if (![6, 8, 20].includes(bytes.length)) return undefined;
  return bytes.map((b) => b.toLowerCase()).join(":");
}
