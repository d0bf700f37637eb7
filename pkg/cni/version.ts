// pkg/cni/version.ts: spec version numbers: parsing, ordering and the result-type family each belongs to.

/** Returns [major, minor, micro] of a dotted version ("" means 0.1.0); throws as upstream's version.ParseVersion. */
export function parseVersion(v: string): [number, number, number] {
  if (v === "") return [0, 1, 0];
  const parts = v.split(".");
  if (parts.length >= 4) throw new Error(`invalid version ${JSON.stringify(v)}: too many parts`); // upstream text
  const names = ["major", "minor", "micro"];
  const out: [number, number, number] = [0, 0, 0];
  parts.forEach((p, i) => {
    // strconv.Atoi: an optional sign, then decimal digits only.
    if (!/^[+-]?[0-9]+$/.test(p)) {
      throw new Error(`failed to convert ${names[i]} version part ${JSON.stringify(p)}: strconv.Atoi: parsing ${JSON.stringify(p)}: invalid syntax`);
    }
    out[i] = Number(p);
  });
  return out;
}

/** Returns whether version a >= b; throws when either does not parse. */
export function versionAtLeast(a: string, b: string): boolean {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! > y[i]!;
  return true;
}

/** The three result shapes of the spec's history. */
export type ResultFamily = "020" | "040" | "100";

const FAMILY: Record<string, ResultFamily> = {
  "0.1.0": "020", "0.2.0": "020",
  "0.3.0": "040", "0.3.1": "040", "0.4.0": "040",
  "1.0.0": "100", "1.1.0": "100",
};

/** Versions each family's Go result type accepts, in upstream's order (for its error text). */
export const FAMILY_VERSIONS: Record<ResultFamily, string[]> = {
  "020": ["0.1.0", "0.2.0"],
  "040": ["0.3.0", "0.3.1", "0.4.0"],
  "100": ["1.0.0", "1.1.0"],
};

/** Returns the result family of a known version, or undefined. */
export function familyOf(version: string): ResultFamily | undefined {
  return Object.hasOwn(FAMILY, version) ? FAMILY[version] : undefined;
}
