// plugins/tap/selinux.ts: `selinuxContext`, the SELinux label a tap is created under.
//
// What the label does. The kernel gives a tun/tap device the security id of the task that creates it
// (selinux_tun_dev_alloc_security: `tunsec->sid = current_sid()`), and from then on checks every attach to the
// device against that id: a TUNSETIFF on its name needs `tun_socket { relabelfrom }` from the device's label and
// `relabelto` to the caller's, TUNSETQUEUE `attach_queue`. So a tap created under the plugin's own domain (spc_t,
// unconfined_t) cannot be opened by a confined VM launcher (KubeVirt's virt-launcher runs as container_t); created
// under container_t, it can. The label says nothing about the device's file, name, owner or netns.
//
// How upstream applies it: it writes the label to /proc/thread-self/attr/exec and runs `ip tuntap add`, so the `ip`
// process, and through it the device, carries the label. We never run `ip`; we use the same kernel mechanism with
// our own executable instead: the label goes to attr/exec, then this binary runs as a helper (createTapLabelled
// below) that makes the tap with TUNSETIFF and exits, and attr/exec is cleared again. The helper is spawned from the
// thread that is inside the container netns, so the tap is born there.
//
// Why not attr/current (setcon) in-process: SELinux refuses a dynamic transition in a multi-threaded process unless
// the policy declares the new type bounded by the old (security_bounded_transition), and a Bun process always has
// helper threads; it would also need `dyntransition` permission, and could not be undone, leaving the rest of the
// ADD (rename, bridge port, IPAM) running confined.
//
// Without SELinux (/sys/fs/selinux not mounted) no LSM labels tun devices, so there is nothing to apply and the
// label is ignored. Upstream fails there instead ("failed set socket label": writing attr/exec without SELinux is
// EINVAL), which makes a conflist written for an SELinux node unusable elsewhere for no benefit.
import type { TunTapSpec } from "../../pkg/ip/tuntap.ts";
import { check, cstr, errno, sys, SyscallError } from "../../pkg/sys/libc.ts";

const SELINUX_ENFORCE = "/sys/fs/selinux/enforce";
const EXEC_ATTR = "/proc/thread-self/attr/exec";
const O_RDONLY = 0;
const O_WRONLY = 1;
const O_CLOEXEC = 0o2000000;

/** The env variable that turns an ADD of our tap executable into the helper; its value is the TunTapSpec as JSON. */
export const HELPER_ENV = "CNI_TAP_HELPER_CREATE";

/** Returns whether SELinux is on: selinuxfs is mounted (go-selinux's GetEnabled looks for the same mount). */
export function isSelinuxEnabled(): boolean {
  const fd = sys().open(cstr(SELINUX_ENFORCE), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return false;
  sys().close(fd);
  return true;
}

// Writes label to the calling thread's attr/exec ("" clears it, as libselinux's setexeccon(NULL) does: a write of
// zero bytes). The label applies to this thread's next execve only.
function setExecLabel(label: string): void {
  const libc = sys();
  const fd = check(libc.open(cstr(EXEC_ATTR), O_WRONLY | O_CLOEXEC, 0), "open", EXEC_ATTR);
  try {
    const bytes = new TextEncoder().encode(label === "" ? " " : label); // never an empty buffer (BUN-NOTES §9)
    const n = Number(libc.write(fd, bytes, label === "" ? 0 : bytes.length));
    if (n < 0) throw new SyscallError("write", errno(), EXEC_ATTR);
  } finally {
    libc.close(fd);
  }
}

/** What the helper needs besides the spec: its executable and the CNI env of the call it serves. */
export interface HelperContext {
  /** Our executable (process.execPath: the compiled multi-call binary, whatever name it was run as). */
  exe: string;
  containerId: string;
  netns: string;
  cniPath: string;
}

/**
 * Creates the tap of spec in the calling thread's netns (call it inside withNetns) from a helper process that runs
 * under `label` ("" runs it unlabelled) and returns the kernel's name for it. Throws upstream's `failed set socket
 * label` when the label cannot be set, and the helper's error otherwise; on failure there is no device.
 */
export function createTapLabelled(spec: TunTapSpec, label: string, ctx: HelperContext): string {
  if (label !== "") {
    try {
      setExecLabel(label);
    } catch (e) {
      throw new Error(`failed set socket label: ${(e as Error).message}`, { cause: e }); // upstream text
    }
  }
  let run: ReturnType<typeof Bun.spawnSync>;
  try {
    // A plain ADD of the tap plugin, so the skel validates it like any other call; the helper env makes its handler
    // create the device named CNI_IFNAME and return it, nothing else. The container netns is the one the child is
    // born in (this thread's), so the own-netns check is overridden.
    run = Bun.spawnSync({
      cmd: [ctx.exe],
      argv0: "tap",
      env: {
        PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
        CNI_COMMAND: "ADD",
        CNI_CONTAINERID: ctx.containerId,
        CNI_NETNS: ctx.netns,
        CNI_IFNAME: spec.name,
        CNI_PATH: ctx.cniPath,
        CNI_NETNS_OVERRIDE: "1",
        [HELPER_ENV]: JSON.stringify(spec),
      },
      stdin: new TextEncoder().encode(JSON.stringify({ cniVersion: "1.1.0", name: "tap-helper", type: "tap" })),
      stdout: "pipe",
      stderr: "pipe",
    });
  } finally {
    if (label !== "") setExecLabel("");
  }
  const out = run.stdout?.toString() ?? "";
  let reply: { code?: number; msg?: string; interfaces?: { name?: string }[] } | undefined;
  try {
    reply = JSON.parse(out);
  } catch {
    reply = undefined;
  }
  const name = reply?.interfaces?.[0]?.name;
  if (run.exitCode === 0 && typeof name === "string") return name;
  // The helper's own error object is already worded ("failed to create tap: …"); anything else is wrapped.
  if (typeof reply?.msg === "string") throw new Error(reply.msg);
  throw new Error(`failed to create tap: helper: ${out.trim() || run.stderr?.toString().trim() || `exit status ${run.exitCode}`}`);
}
