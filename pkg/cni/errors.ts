// pkg/cni/errors.ts: the CNI error object (spec "Error" section) and its well-known codes.

export const ERR_INCOMPATIBLE_CNI_VERSION = 1;
export const ERR_UNSUPPORTED_FIELD = 2;
export const ERR_UNKNOWN_CONTAINER = 3;
export const ERR_INVALID_ENVIRONMENT_VARIABLES = 4;
export const ERR_IO_FAILURE = 5;
export const ERR_DECODING_FAILURE = 6;
export const ERR_INVALID_NETWORK_CONFIG = 7;
export const ERR_INVALID_NETNS = 8;
export const ERR_TRY_AGAIN_LATER = 11;
export const ERR_PLUGIN_NOT_AVAILABLE = 50;
export const ERR_LIMITED_CONNECTIVITY = 51;
export const ERR_INTERNAL = 999;

/** A typed CNI error: printed as {code, msg, details} by the skel; any other Error becomes code 999. */
export class CniError extends Error {
  constructor(readonly code: number, readonly msg: string, readonly details = "") {
    super(details ? `${msg}; ${details}` : msg);
    this.name = "CniError";
  }

  /** Returns the wire object; `details` is omitted when empty, as upstream's omitempty does. */
  toJSON(): { code: number; msg: string; details?: string } {
    return this.details ? { code: this.code, msg: this.msg, details: this.details } : { code: this.code, msg: this.msg };
  }
}

/** Returns err as a CniError: typed errors pass through, anything else becomes code 999 with its message. */
export function asCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof Error) return new CniError(ERR_INTERNAL, err.message);
  return new CniError(ERR_INTERNAL, String(err));
}
