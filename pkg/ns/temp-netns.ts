// pkg/ns/temp-netns.ts: an unnamed network namespace that lives only while its fd is open (upstream ns.TempNetNS).
// host-device renames a device in one, so udev and NetworkManager on the host never see the intermediate names.
// Closing it with a device still inside sends a physical device back to the initial netns (not to ours) and
// destroys a virtual one, so callers move their device out before they close it.
import { check, cstr, describeErrno, errno, sys } from "../sys/libc.ts";
import { NetNS } from "./netns.ts";

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const CLONE_NEWNET = 0x40000000;
const THREAD_NETNS = "/proc/thread-self/ns/net";

/**
 * Returns a new, empty netns held only by the returned fd (its path, `/proc/self/fd/<fd>`, works while it is open).
 * The calling thread is back in its own netns on return. Throws when the kernel refuses (EPERM without
 * CAP_SYS_ADMIN) or, worse, when switching back fails.
 */
export function createTempNetns(): NetNS {
  const libc = sys();
  const orig = check(libc.open(cstr(THREAD_NETNS), O_RDONLY | O_CLOEXEC, 0), "open", THREAD_NETNS);
  let fd = -1;
  let failure: unknown;
  try {
    // unshare moves only this (the JS) thread into the new netns; opening it pins it once we leave.
    check(libc.unshare(CLONE_NEWNET), "unshare", "CLONE_NEWNET");
    fd = check(libc.open(cstr(THREAD_NETNS), O_RDONLY | O_CLOEXEC, 0), "open", THREAD_NETNS);
  } catch (e) {
    failure = e;
  }
  const back = libc.setns(orig, CLONE_NEWNET);
  const backErrno = back < 0 ? errno() : 0;
  libc.close(orig);
  if (back < 0) {
    if (fd >= 0) libc.close(fd);
    // Carrying on in the temporary netns would act on the wrong interfaces: this is the error that matters.
    throw new Error(`failed to switch back to the original netns: ${describeErrno(backErrno).toLowerCase()}`);
  }
  if (failure !== undefined) throw failure;
  return new NetNS(`/proc/self/fd/${fd}`, fd);
}
