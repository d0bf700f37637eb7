// pkg/cni/about.ts: what the entry answers before any plugin code loads: VERSION and the about banner.
// Kept tiny and import-free: it sits on the startup path of every plugin call (BUN-NOTES §11).

/** Our release, printed in the about banner and by --version. */
export const RELEASE = "v0.1.0";
/** The upstream release whose behaviour we match. */
export const UPSTREAM = "containernetworking/plugins v1.9.1";

/** Returns the VERSION answer: compact JSON and a newline, cniVersion always 1.1.0 (upstream's PluginInfo.Encode). */
export function versionJSON(versions: readonly string[]): string {
  return `{"cniVersion":"1.1.0","supportedVersions":${JSON.stringify(versions)}}\n`;
}

/** Returns the banner printed to stderr when CNI_COMMAND is unset. */
export function aboutText(name: string, versions: readonly string[]): string {
  return `CNI ${name} plugin ${RELEASE}\nCNI protocol versions supported: ${versions.join(", ")}`;
}
