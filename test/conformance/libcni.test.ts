// libcni and cnitool against the Go libcni v1.3.0: test/support/go-libcni/captured (see PROVENANCE.md) holds what upstream's own cnitool did on
// stand-in plugins (test/support/fake-plugin.sh) and kept what every plugin call got (stdin bytes, CNI_* env) and the
// cache files it wrote. Here our bin/cnitool runs the same calls with the same inputs, and every byte must match:
// each plugin's stdin (the config as libcni re-marshals it: sorted keys, Go's number and HTML escaping, prevResult,
// runtimeConfig from capabilities, the name and version forced in), its env, the order of calls (ADD in order, DEL
// in reverse, STATUS, GC deleting the cached attachments first), the cache files (content, place, modes) and the
// printed result. Identical cache bytes are what lets either library DEL what the other ADDed.
//
// No masks. The one difference on purpose: our cnitool is told its cache directory in CNI_CACHE_DIR (upstream's is
// fixed at /var/lib/cni; the capture ran it in a private mount namespace instead).
import { afterAll, expect, test } from "bun:test";
import { cpSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { fakePlugins } from "../support/fake-plugins.ts";
import { OURS } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { tempDir } from "../support/temp-dir.ts";

const TAG = "libcnic";
const GO = resolve(import.meta.dir, "../support/go-libcni");
const hasBin = existsSync(`${OURS}/cnitool`);
if (!hasBin) console.warn(`libcni conformance skipped: ${OURS}/cnitool absent (make builds it)`);
cleanUpAfterAll(TAG);

const fake = fakePlugins(TAG, ["fake-main", "fake-meta", "fake-last", "fake-extra"]);
const cache = tempDir(`${TAG}-cache`);
afterAll(() => {
  fake[Symbol.dispose]();
  cache[Symbol.dispose]();
});

/** Runs our cnitool as upstream's was run for the fixture. */
function cnitool(verb: string, ifname = "eth0"): string {
  const p = Bun.spawnSync([`${OURS}/cnitool`, verb, "fixnet", "/run/netns/fixture-ns"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      NETCONFPATH: `${GO}/input/netconf`,
      CNI_PATH: fake.bin,
      FAKE_DIR: fake.state,
      CNI_IFNAME: ifname,
      CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=web<1>&x",
      CAP_ARGS: '{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}],"mac":"0a:58:0a:00:00:09","ips":["10.0.0.9/24"],"unused":true}',
      TRACEPARENT: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      CNI_CACHE_DIR: cache.path,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(p.stderr.toString()).toBe("");
  expect(p.exitCode).toBe(0);
  return p.stdout.toString();
}

/** Returns every file below dir (relative path → content), with the fake plugins' directory spelled as the fixture records it. */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    const p = `${dir}/${f}`;
    if (statSync(p).isFile()) out[f] = readFileSync(p, "utf8").replaceAll(fake.bin, "@CNI_PATH@");
  }
  return out;
}

test.skipIf(!hasBin)("our cnitool sends every plugin what upstream's sends and caches what it caches, byte for byte", () => {
  cpSync(`${GO}/input/fake`, fake.state, { recursive: true });
  expect(cnitool("add")).toBe(readFileSync(`${GO}/captured/add.stdout`, "utf8"));
  cnitool("check");
  cnitool("status");
  cnitool("del");
  cnitool("add");
  cnitool("add", "net1");
  const cached = files(cache.path);
  for (const f of readdirSync(`${cache.path}/results`)) expect(statSync(`${cache.path}/results/${f}`).mode & 0o777).toBe(0o600);
  expect(statSync(`${cache.path}/results`).mode & 0o777).toBe(0o700);
  cnitool("gc");

  expect(cached).toEqual(files(`${GO}/captured/cache`));
  expect(readdirSync(`${cache.path}/results`)).toEqual([]);
  const ours = files(`${fake.state}/log`);
  const theirs = files(`${GO}/captured/log`);
  expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
  for (const name of Object.keys(theirs).sort()) expect({ name, content: ours[name] }).toEqual({ name, content: theirs[name] });
});
