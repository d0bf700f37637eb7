// pkg/cni/valid-attachments.ts: the attachments a GC call says are still in use (spec 1.1 `cni.dev/valid-attachments`),
// decoded with Go's rules and texts. Plugins with a GC (host-local, tuning) read them here; static's CHECK decodes
// the same field as part of types.NetConf.
import { parseStdin } from "./conf.ts";
import { array, decodeRoot, str, struct } from "./decode.ts";

/** An attachment the runtime still holds, as GC lists them. */
export interface Attachment {
  containerID: string;
  ifname: string;
}

/** The `cni.dev/valid-attachments` field of a config struct: a []types.GCAttachment. */
export const validAttachmentsField = array(struct("GCAttachment", { containerID: str, ifname: str }), "[]types.GCAttachment");

/**
 * Returns `cni.dev/valid-attachments` of a GC config (null entries dropped), or undefined when the list is absent or
 * null: then the runtime has told us nothing, and a GC must free nothing. `structName` is the Go struct the plugin
 * decodes into, named in a wrong-type error ("NetConf", host-local's "PluginConf"). Throws a DecodeError.
 */
export function loadValidAttachments(stdin: Uint8Array, structName = "NetConf"): Attachment[] | undefined {
  const decoder = struct(structName, { "cni.dev/valid-attachments": validAttachmentsField });
  const list = decodeRoot(parseStdin(stdin), decoder, structName)["cni.dev/valid-attachments"];
  return list?.filter((a) => a !== undefined).map((a) => ({ containerID: a.containerID ?? "", ifname: a.ifname ?? "" }));
}
