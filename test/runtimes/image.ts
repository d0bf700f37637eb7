// test/runtimes/image.ts: the busybox image the runtime tests run, built here from Debian's busybox-static (no
// registry is reachable): a one-layer root filesystem (/bin/busybox, a symlink per applet, /etc/passwd) as a plain
// tar for `podman import`, and the same layer as an OCI image archive for `ctr images import`, written by hand
// (oci-layout, index.json with the image name annotations, config, manifest and layer blobs by sha256).
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, readSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The name both runtimes know the image by. */
export const IMAGE = "localhost/cnit-busybox:latest";
const BUSYBOX = "/bin/busybox";

/** Returns why the image cannot be built here ("" when it can): busybox missing or not statically linked. */
export function whyNoBusybox(): string {
  let head: Buffer;
  try {
    head = readHead(BUSYBOX, 4096);
  } catch {
    return `${BUSYBOX} missing (Debian's busybox-static provides it)`;
  }
  // A dynamically linked ELF names its loader (PT_INTERP) near the start; a container without libc cannot run it.
  return head.includes("/lib64/ld-linux") || head.includes("/lib/ld-linux") ? `${BUSYBOX} is dynamically linked (install busybox-static)` : "";
}

/** Returns the path of the root filesystem tar (one layer) built in dir. */
export function buildRootfsTar(dir: string): string {
  const root = join(dir, "rootfs");
  for (const d of ["bin", "etc", "tmp", "proc", "sys", "dev", "www"]) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(BUSYBOX, join(root, "bin/busybox"));
  const applets = run([BUSYBOX, "--list"]).split("\n").filter((a) => a !== "" && a !== "busybox");
  for (const a of applets) symlinkSync("busybox", join(root, "bin", a));
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\n");
  const tar = join(dir, "rootfs.tar");
  run(["tar", "-C", root, "--numeric-owner", "--owner=0", "--group=0", "--sort=name", "--mtime=@0", "-cf", tar, "."]);
  return tar;
}

/** Returns the path of an OCI image archive named IMAGE holding the layer tar, built in dir. */
export function buildOciArchive(dir: string, layerTar: string): string {
  const layout = join(dir, "oci");
  mkdirSync(join(layout, "blobs/sha256"), { recursive: true });
  const blob = (bytes: Uint8Array) => {
    const hex = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
    writeFileSync(join(layout, "blobs/sha256", hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const layer = blob(readFileSync(layerTar));
  const config = blob(json({
    architecture: ociArch(),
    os: "linux",
    config: { Env: ["PATH=/bin"], Cmd: ["sh"] },
    rootfs: { type: "layers", diff_ids: [layer.digest] }, // uncompressed layer: its diff_id is its digest
  }));
  const manifest = blob(json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layer }],
  }));
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(layout, "index.json"), JSON.stringify({
    schemaVersion: 2,
    manifests: [{
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      ...manifest,
      // containerd names an imported image after io.containerd.image.name; other tools read the ref name.
      annotations: { "io.containerd.image.name": IMAGE, "org.opencontainers.image.ref.name": "latest" },
    }],
  }));
  const archive = join(dir, "image-oci.tar");
  run(["tar", "-C", layout, "-cf", archive, "oci-layout", "index.json", "blobs"]);
  return archive;
}

function ociArch(): string {
  return ({ x64: "amd64", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x" } as Record<string, string>)[process.arch] ?? process.arch;
}

function readHead(path: string, n: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

function run(argv: string[]): string {
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${p.stderr.toString().trim()}`);
  return p.stdout.toString();
}
