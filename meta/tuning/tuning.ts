// meta/tuning/tuning.ts: changes sysctls and link settings (MAC, MTU, promiscuous and all-multicast mode, transmit
// queue length) of an interface a previous plugin in the chain created (SPEC-DIGEST §3.4). ADD keeps the link's old
// settings in a backup file that DEL puts back; GC removes the backups of attachments the runtime no longer holds.
//
// Unlike upstream, ADD checks everything it can before it changes anything (sysctl keys, MAC text, ranges, the
// link), and when a change still fails it undoes what it already did: sysctls get their old values back, the link
// its backed-up settings, and the backup file is removed (or its earlier content put back).
import { goQuote } from "../../pkg/cni/args.ts";
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import { parsePrevResult } from "../../pkg/cni/result.ts";
import { ALL_VERSIONS, type CmdArgs, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { loadValidAttachments } from "../../pkg/cni/valid-attachments.ts";
import {
  formatMAC, getLinkByName, setLinkAllmulti, setLinkMAC, setLinkMTU, setLinkPromisc, setLinkTxQLen, isAllmulti, type Link,
} from "../../pkg/ip/link.ts";
import { isNotFound, openRouteSocket, type NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { readSysctl, writeSysctl } from "../../pkg/ip/sysctl.ts";
import { NetnsNotExistError, withNetns } from "../../pkg/ns/netns.ts";
import {
  backupOf, backupPath, decodeBackup, putBack, readIfExists, removeBackup, restoreLink, writeBackup, type Backup,
} from "./backup.ts";
import { changesLink, loadConf, type TuningConf } from "./config.ts";
import { goNetlinkText, joinPath } from "./go-compat.ts";
import { parseHardwareAddr } from "./mac.ts";
import { sysctlFileName, validateAllowlists } from "./sysctl-key.ts";
import * as files from "../../pkg/sys/fs.ts";

const U32_MAX = 0xffffffff;

/** What ADD is about to do, fully checked before anything changes. */
interface Plan {
  /** /proc/sys files and the values to write, in the order written in the config. */
  sysctls: [file: string, value: string][];
  /** The MAC to set, in the colon form netlink wants; undefined leaves it. */
  mac?: string;
}

function add(args: CmdArgs): Result {
  const conf = loadConf(args.stdin, args.args, { checkDuplicates: true });
  validateAllowlists([...conf.sysctl.keys()]);
  validateIfname(args.ifname);
  const result = requirePrevResult(conf);
  const plan = planAdd(conf, args.ifname);
  withNetns(args.netns, () => apply(args, conf, plan));
  if (conf.mac !== "") {
    // upstream: the MAC as written in the config, on every interface of that name.
    for (const iface of result.interfaces ?? []) if (iface.name === args.ifname) iface.mac = conf.mac;
  }
  return result;
}

/** Throws upstream's error for an interface name that would escape the sysctl path (the skel refuses it already). */
function validateIfname(ifname: string): void {
  if (ifname.includes("/")) throw new Error(`Interface name (${ifname}) contains an invalid character /`); // upstream text
}

/** Returns prevResult in the 1.1.0 shape; throws when there is none (a chained plugin needs one) or it does not parse. */
function requirePrevResult(conf: TuningConf): Result {
  if (!conf.rawPrevResult) throw new Error("Required prevResult missing"); // upstream text
  return parsePrevResult(conf.rawPrevResult, conf.cniVersion);
}

/** Returns the checked plan; throws on a sysctl key outside /proc/sys/net, a bad MAC, or an MTU/txQLen out of range. */
function planAdd(conf: TuningConf, ifname: string): Plan {
  const sysctls: Plan["sysctls"] = [];
  for (const [key, value] of conf.sysctl) sysctls.push([sysctlFileName(key, ifname), value]);
  let mac: string | undefined;
  if (conf.mac !== "") {
    try {
      mac = formatMAC(parseHardwareAddr(conf.mac));
    } catch (e) {
      throw new Error(`invalid args ${conf.mac} for MAC addr: ${(e as Error).message}`); // upstream text
    }
  }
  // Go passes these ints to netlink as u32; a value that does not fit would be cut, so refuse it up front.
  if (conf.mtu < 0 || conf.mtu > U32_MAX) throw new CniError(ERR_INVALID_NETWORK_CONFIG, `invalid mtu ${conf.mtu}: must be between 0 and ${U32_MAX}`);
  if (conf.txQLen !== undefined && (conf.txQLen < 0 || conf.txQLen > U32_MAX)) {
    throw new CniError(ERR_INVALID_NETWORK_CONFIG, `invalid txQLen ${conf.txQLen}: must be between 0 and ${U32_MAX}`);
  }
  return { sysctls, mac };
}

/** Inside the container netns: sysctls, backup, link settings; on failure, everything done so far is undone. */
function apply(args: CmdArgs, conf: TuningConf, plan: Plan): void {
  using sock = openRouteSocket();
  const link = changesLink(conf) ? getLink(sock, args.ifname) : undefined;
  const undo: { what: string; fn: () => void }[] = [];
  try {
    for (const [file, value] of plan.sysctls) {
      const name = file.slice("/proc/sys/".length);
      const old = tryReadSysctl(name);
      writeSysctl(name, value);
      if (old !== undefined) undo.push({ what: `sysctl ${file}`, fn: () => writeSysctl(name, old) });
    }
    if (!link) return;
    const backup = backupOf(link, {
      mac: plan.mac !== undefined, promisc: conf.promisc, mtu: conf.mtu !== 0, allmulti: conf.allmulti !== undefined, txQLen: conf.txQLen !== undefined,
    });
    const file = backupPath(conf.dataDir, args.containerId, args.ifname);
    const earlier = readIfExists(file);
    writeBackup(conf.dataDir, file, args.ifname, { ...backup, network: conf.name });
    undo.push({ what: `backup ${file}`, fn: () => (earlier ? putBack(file, earlier) : removeBackup(file)) });
    undo.push({ what: "link settings", fn: () => throwAll(restoreLink(sock, link.index, backup)) });
    changeLink(sock, link, conf, plan);
  } catch (e) {
    for (const { what, fn } of undo.reverse()) {
      try {
        fn();
      } catch (u) {
        console.error(`failed to undo ${what}: ${(u as Error).message}`);
      }
    }
    throw e;
  }
}

function getLink(sock: NetlinkSocket, ifname: string): Link {
  try {
    return getLinkByName(sock, ifname);
  } catch (e) {
    if (isNotFound(e)) throw new Error(`failed to get ${goQuote(ifname)}: Link not found`); // upstream text
    throw new Error(`failed to get ${goQuote(ifname)}: ${goNetlinkText(e)}`, { cause: e });
  }
}

function tryReadSysctl(name: string): string | undefined {
  try {
    return readSysctl(name);
  } catch {
    return undefined; // write-only (route/flush) or unreadable: nothing to put back
  }
}

function throwAll(errors: string[]): void {
  if (errors.length > 0) throw new Error(errors.join("; "));
}

/** Applies the link settings in upstream's order: MAC, promisc (on only), MTU, allmulti, txqueuelen. */
function changeLink(sock: NetlinkSocket, link: Link, conf: TuningConf, plan: Plan): void {
  const step = (fn: () => void) => {
    try {
      fn();
    } catch (e) {
      throw new Error(goNetlinkText(e), { cause: e }); // upstream text: the bare errno
    }
  };
  if (plan.mac !== undefined) step(() => setLinkMAC(sock, link.index, plan.mac!));
  if (conf.promisc) step(() => setLinkPromisc(sock, link.index, true));
  if (conf.mtu !== 0) step(() => setLinkMTU(sock, link.index, conf.mtu));
  if (conf.allmulti !== undefined) step(() => setLinkAllmulti(sock, link.index, conf.allmulti!));
  if (conf.txQLen !== undefined) step(() => setLinkTxQLen(sock, link.index, conf.txQLen!));
}

/** DEL fails only on a config that does not parse; whatever happens in the netns is best effort, as upstream. */
function del(args: CmdArgs): void {
  const conf = loadConf(args.stdin, args.args, { checkDuplicates: false });
  // No netns (containerd sends none on DEL), or it is gone: the link went with it, nothing to restore. The backup
  // file stays, as upstream leaves it; GC removes it once the runtime stops listing the attachment.
  if (args.netns === "") return;
  const file = backupPath(conf.dataDir, args.containerId, args.ifname);
  try {
    withNetns(args.netns, () => restoreBackup(file, args.ifname));
  } catch (e) {
    // Diagnostics only: upstream drops these errors, and a DEL that fails here would only be retried in vain.
    if (!(e instanceof NetnsNotExistError)) console.error(`tuning DEL: could not restore from ${file}: ${(e as Error).message}`);
  }
}

/**
 * Inside the netns: puts the backed-up settings back and removes the file once all of them are restored (upstream
 * restoreBackup). No file, a file Go could not decode, or no link: nothing to do, and the file (if any) stays.
 */
function restoreBackup(file: string, ifname: string): void {
  let bytes: Uint8Array | undefined;
  try {
    bytes = readIfExists(file);
  } catch (e) {
    throw new Error(`failed to open file ${goQuote(file)}: ${(e as Error).message}`); // upstream text
  }
  if (!bytes) return;
  // Empty: an ADD was killed between creating the file and writing it. Nothing to restore, and no later DEL or GC
  // could ever read it, so it goes now.
  if (bytes.length === 0) return removeBackup(file);
  const backup: Backup | undefined = decodeBackup(new TextDecoder().decode(bytes));
  if (!backup) return;
  using sock = openRouteSocket();
  let link: Link;
  try {
    link = getLinkByName(sock, ifname);
  } catch {
    return;
  }
  throwAll(restoreLink(sock, link.index, backup));
  removeBackup(file);
}

function check(args: CmdArgs): void {
  const conf = loadConf(args.stdin, args.args, { checkDuplicates: true });
  requirePrevResult(conf);
  withNetns(args.netns, () => {
    for (const [key, want] of conf.sysctl) {
      const file = sysctlFileName(key, args.ifname);
      const have = readSysctl(file.slice("/proc/sys/".length));
      if (have !== want) throw new Error(`Error: Tuning configured value of ${file} is ${want}, current value is ${have}`); // upstream text
    }
    using sock = openRouteSocket();
    let link: Link;
    try {
      link = getLinkByName(sock, args.ifname);
    } catch {
      throw new Error(`Cannot find container link ${args.ifname}`); // upstream text
    }
    checkLink(link, conf, args.ifname);
  });
}

/** Throws upstream's CHECK error for the first setting the link does not have. */
function checkLink(link: Link, conf: TuningConf, ifname: string): void {
  // upstream quirk: the MAC is compared as text, so "AA:BB:…" in the config never matches what the kernel reports.
  if (conf.mac !== "" && conf.mac !== link.mac) {
    throw new Error(`Error: Tuning configured Ethernet of ${ifname} is ${conf.mac}, current value is ${link.mac}`); // upstream text
  }
  // Both directions: promisc false (or absent) means the link must not be promiscuous either.
  const promiscuity = link.promiscuity ?? 0;
  if (conf.promisc !== (promiscuity !== 0)) {
    throw new Error(`Error: Tuning link ${ifname} configured promisc is ${conf.promisc}, current value is ${promiscuity}`); // upstream text
  }
  if (conf.mtu !== 0 && conf.mtu !== link.mtu) {
    throw new Error(`Error: Tuning configured MTU of ${ifname} is ${conf.mtu}, current value is ${link.mtu}`); // upstream text
  }
  // upstream prints the *bool and *int pointers here (an address); we print the values.
  if (conf.allmulti !== undefined && conf.allmulti !== isAllmulti(link)) {
    throw new Error(`Error: Tuning configured all-multicast mode of ${ifname} is ${conf.allmulti}, current value is ${isAllmulti(link)}`); // upstream text
  }
  if (conf.txQLen !== undefined && conf.txQLen !== (link.txqlen ?? 0)) {
    throw new Error(`Error: Tuning configured Transmit Queue Length of ${ifname} is ${conf.txQLen}, current value is ${link.txqlen ?? 0}`); // upstream text
  }
}

/**
 * Our addition (upstream declares no GC): removes this network's backup files of attachments missing from
 * `cni.dev/valid-attachments`. Without that list the runtime has told us nothing, and nothing is removed. Networks
 * share the dataDir, so only backups that name this network (backup.ts NETWORK_KEY) are candidates.
 */
function gc(args: CmdArgs): void {
  const conf = loadConf(args.stdin, "", { checkDuplicates: false });
  const valid = loadValidAttachments(args.stdin);
  if (!valid) return;
  const keep = new Set(valid.map((a) => `${a.containerID}_${a.ifname}.json`));
  let entries: files.Dirent[];
  try {
    entries = files.readdirSync(conf.dataDir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new Error(`failed to read ${conf.dataDir}: ${(e as Error).message}`, { cause: e });
  }
  const errors: string[] = [];
  for (const e of entries) {
    if (!e.isFile() || !isBackupName(e.name) || keep.has(e.name)) continue;
    if (networkOfBackup(joinPath(conf.dataDir, e.name)) !== conf.name) continue;
    try {
      removeBackup(joinPath(conf.dataDir, e.name));
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (errors.length > 0) throw new Error(errors.join("; "));
}

/** Returns the network named in a backup file, or undefined (unreadable, or written by Go's tuning). */
function networkOfBackup(path: string): string | undefined {
  const bytes = readIfExists(path);
  return bytes ? decodeBackup(new TextDecoder().decode(bytes))?.network : undefined;
}

// `<containerID>_<ifname>.json`: a container ID as the skel allows it, "_", then an interface name.
const BACKUP_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*_[^/]+\.json$/;

function isBackupName(name: string): boolean {
  return BACKUP_NAME.test(name);
}

export const tuning: Plugin = { name: "tuning", versions: ALL_VERSIONS, add, del, check, gc };
