// pkg/sys/ffi.ts: the parts of bun:ffi we use, taken from Bun.FFI when it is there. Bun.FFI is the native object the
// bun:ffi module wraps (its dlopen, read, CString, toArrayBuffer); importing the module first compiles its JavaScript,
// ~0.3 ms on every plugin process that touches libc (measured with Bun 1.4.5). A Bun without Bun.FFI gets the module.
import type * as BunFfi from "bun:ffi";

export interface Ffi {
  dlopen: typeof BunFfi.dlopen;
  read: typeof BunFfi.read;
  CString: typeof BunFfi.CString;
  toArrayBuffer: typeof BunFfi.toArrayBuffer;
}

let cached: Ffi | undefined;

/** Returns bun:ffi's functions. dlopen throws on failure either way (the native one returns the Error). */
export function ffi(): Ffi {
  if (cached) return cached;
  const native = (Bun as unknown as { FFI?: Ffi }).FFI;
  if (native && typeof native.dlopen === "function") {
    const open = native.dlopen;
    cached = {
      ...native,
      dlopen: ((path: string, symbols: Parameters<typeof BunFfi.dlopen>[1]) => {
        const lib = open(path, symbols) as unknown;
        if (lib instanceof Error) throw lib;
        return lib;
      }) as typeof BunFfi.dlopen,
    };
  } else {
    cached = require("bun:ffi") as Ffi;
  }
  return cached;
}
