// pkg/ip/master.ts: the parent link of a macvlan, ipvlan or vlan ("master"), looked up with upstream's error text.
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../cni/errors.ts";
import { getLinkByName, type Link } from "./link.ts";
import { isNotFound, type NetlinkSocket } from "./nl/socket.ts";
import { goErrorText } from "./renamed-link.ts";

/**
 * Returns the master link; throws `failed to lookup master "<name>"<where>: <error>` (upstream's text), as code 7
 * (invalid config) when there is no such link. `describe` words the error (default: as Go prints it).
 */
export function lookupMaster(sock: NetlinkSocket, name: string, where = "", describe: (e: unknown) => string = goErrorText): Link {
  try {
    return getLinkByName(sock, name);
  } catch (e) {
    const text = `failed to lookup master ${JSON.stringify(name)}${where}: ${describe(e)}`;
    if (isNotFound(e)) throw new CniError(ERR_INVALID_NETWORK_CONFIG, text);
    throw new Error(text, { cause: e });
  }
}
