// pkg/netfilter/shared-chains-lock.ts: serializes our plugins' read-plan-apply of iptables chains that many
// containers share (portmap's CNI-HOSTPORT-*, firewall's CNI-FORWARD), per network namespace.
//
// Why a lock: a plan made from a read is only right if nobody changes the table before it applies. Planning relies on
// `-N CHAIN` failing the batch when another process created CHAIN meanwhile. iptables-legacy-restore fails it, and so
// does our own nf_tables transaction, which then hands the batch to iptables-restore. iptables-nft-restore, though,
// refreshes its cache on a generation clash and skips a `-N` whose chain exists by then: the batch's jumps to that
// chain go in a second time (seen with four concurrent restores, one round in ten).
//
// The lock is flock(LOCK_EX) on the calling thread's netns file (nsfs): one inode per netns, reached by every open,
// so the lock is exactly as wide as the tables it guards and leaves no file behind. It is not the xtables lock: a
// legacy `iptables-restore -w` child waits on that one. Go's plugins do not take it; they never had this guarantee.
import { cstr, sys } from "../sys/libc.ts";
import { flockRetrying, LOCK_EX } from "../sys/flock.ts";

const THREAD_NETNS = "/proc/thread-self/ns/net";
const O_RDONLY_CLOEXEC = 0o2000000;
// Calls nested in a locked one run under its lock: a second open file of the same netns would wait on this
// process's own lock for ever.
let depth = 0;

/**
 * Returns fn's result, run while holding the shared-chains lock of the calling thread's netns. Where the netns file
 * cannot be opened, fn runs unlocked: the lock narrows a race, and nothing else depends on it.
 */
export function withSharedChainsLock<T>(fn: () => T): T {
  if (depth > 0) return nested(fn);
  const fd = sys().open(cstr(THREAD_NETNS), O_RDONLY_CLOEXEC, 0);
  if (fd < 0) return fn();
  try {
    flockRetrying(fd, LOCK_EX, `LOCK_EX ${THREAD_NETNS}`);
    return nested(fn);
  } finally {
    sys().close(fd); // closing the only open file description lets go of the lock
  }
}

function nested<T>(fn: () => T): T {
  depth++;
  try {
    return fn();
  } finally {
    depth--;
  }
}
