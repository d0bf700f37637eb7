// ipam/dhcp/config.ts: the network config as both halves of dhcp read it, decoded as Go's encoding/json decodes
// upstream's NetConf (plugins/ipam/dhcp/main.go): types.NetConf plus an `ipam` of daemonSocketPath, provide,
// request and priority. The plugin needs only the socket path; the daemon reads the options and the priority.
import { netConfFields, parseStdin } from "../../pkg/cni/conf.ts";
import { array, bool, decodeRoot, goStruct, int, str, struct, typeError, type Decoder } from "../../pkg/cni/decode.ts";
import { validAttachmentsField } from "../../pkg/cni/valid-attachments.ts";

export const DEFAULT_SOCKET_PATH = "/run/cni/dhcp.sock";

/** An entry of `ipam.provide`: an option sent to the server with a fixed value or one taken from CNI_ARGS. */
export interface ProvideOption {
  option: string;
  value: string;
  fromArg: string;
}

/** An entry of `ipam.request`: an option asked for in the parameter request list (55). */
export interface RequestOption {
  option: string;
  skipDefault: boolean;
}

/** What dhcp takes from the network config. */
export interface DhcpConf {
  name: string;
  cniVersion: string;
  /** `ipam.daemonSocketPath`, or the default socket. */
  socketPath: string;
  provide: ProvideOption[];
  request: RequestOption[];
  /** `ipam.priority`: the metric of every returned route when not 0. */
  priority: number;
}

/**
 * Returns the config on stdin as upstream's NetConf decodes it. Throws a plain Error (code 999) with the json error
 * prefixed by `prefix`, or `IPAM config missing 'ipam' key` where upstream would dereference a nil pointer.
 */
export function loadConf(stdin: Uint8Array, prefix: string): DhcpConf {
  let net: ReturnType<typeof netDecoder>;
  try {
    net = decodeRoot(parseStdin(stdin), netDecoder, "NetConf");
  } catch (e) {
    throw new Error(`${prefix}: ${(e as Error).message}`);
  }
  const ipam = net.ipam;
  if (!ipam) throw new Error("IPAM config missing 'ipam' key"); // host-local's text; upstream dhcp panics here
  return {
    name: net.name ?? "",
    cniVersion: net.cniVersion ?? "",
    socketPath: ipam.daemonSocketPath || DEFAULT_SOCKET_PATH,
    // A null entry is a zero struct to Go: no option, which prepareOptions then refuses by name ("").
    provide: (ipam.provide ?? []).map((p) => ({ option: p?.option ?? "", value: p?.value ?? "", fromArg: p?.fromArg ?? "" })),
    request: (ipam.request ?? []).map((r) => ({ option: r?.option ?? "", skipDefault: r?.skipDefault ?? false })),
    priority: ipam.priority ?? 0,
  };
}

// ---------- decoders: Go types and struct names as upstream declares them, for error texts ----------

/** main.DHCPOption, a named string type: a wrong JSON type names it. */
const dhcpOption: Decoder<string> = (v, at) => {
  if (typeof v !== "string") throw typeError(v, "main.DHCPOption", at);
  return v;
};

const provideDecoder = goStruct("ProvideOption", "main.ProvideOption", { option: dhcpOption, value: str, fromArg: str });
const requestDecoder = goStruct("RequestOption", "main.RequestOption", { skipDefault: bool, option: dhcpOption });

const ipamDecoder = goStruct("IPAMConfig", "main.IPAMConfig", {
  type: str,
  daemonSocketPath: str,
  provide: array(provideDecoder, "[]main.ProvideOption"),
  request: array(requestDecoder, "[]main.RequestOption"),
  priority: int,
});

const netDecoder = struct("NetConf", {
  ...netConfFields,
  ipam: ipamDecoder,
  "cni.dev/valid-attachments": validAttachmentsField,
});
