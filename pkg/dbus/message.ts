// pkg/dbus/message.ts: the D-Bus wire format (D-Bus specification, "Message Protocol"): the 16-byte fixed header,
// the header fields `a(yv)`, and the body marshalled by its type signature, with every value aligned to its type's
// natural boundary. Pure functions, so a unit test can compare them byte for byte with what busctl (sd-bus) sends.
// Header fields are written in sd-bus's order (PATH, MEMBER, INTERFACE, …, SIGNATURE) for the same reason.
//
// Values by type code: y n q i u h d → number; x t → bigint; b → boolean; s o g → string; a → array (an `a{..}`
// dict is an array of [key, value] pairs); (…) → array of the members; v → Variant.

export const METHOD_CALL = 1;
export const METHOD_RETURN = 2;
export const ERROR = 3;
export const SIGNAL = 4;

/** Header flag: no reply is expected. */
export const NO_REPLY_EXPECTED = 0x1;
/** Header flag: the bus must not start a service to deliver this. */
export const NO_AUTO_START = 0x2;

// Header field codes (spec "Header Fields").
const FIELD_PATH = 1;
const FIELD_INTERFACE = 2;
const FIELD_MEMBER = 3;
const FIELD_ERROR_NAME = 4;
const FIELD_REPLY_SERIAL = 5;
const FIELD_DESTINATION = 6;
const FIELD_SENDER = 7;
const FIELD_SIGNATURE = 8;
const FIELD_UNIX_FDS = 9;

/** The fixed header (12 bytes) plus the length word of the header-field array. */
export const FIXED_HEADER_LEN = 16;
/** The largest message the spec allows (128 MiB). */
export const MAX_MESSAGE_LEN = 134217728;

/** A value of type `v`: its own signature (one complete type) and the value. */
export class Variant {
  constructor(readonly signature: string, readonly value: unknown) {}
}

/** One message with the header fields this client uses; absent fields are left out on the wire. */
export interface Message {
  type: number;
  flags: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  /** The body's signature; "" or absent means no body. */
  signature?: string;
  body: unknown[];
  unixFds?: number;
}

/** A marshalling or unmarshalling failure: bad signature, a value of the wrong type, or malformed bytes. */
export class DBusWireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DBusWireError";
  }
}

// ---------- signatures ----------

/** Returns the complete types of a signature in order ("sa{sv}i" → ["s", "a{sv}", "i"]); throws on a malformed one. */
export function splitSignature(sig: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < sig.length) {
    const end = completeTypeEnd(sig, i, 0);
    out.push(sig.slice(i, end));
    i = end;
  }
  return out;
}

const BASIC = "ybnqiuxtdhsog";

// Returns the index just past the complete type starting at `i`.
function completeTypeEnd(sig: string, i: number, depth: number): number {
  if (depth > 64) throw new DBusWireError(`signature ${JSON.stringify(sig)} nests too deep`);
  const c = sig[i];
  if (c === undefined) throw new DBusWireError(`signature ${JSON.stringify(sig)} ends early`);
  if (BASIC.includes(c) || c === "v") return i + 1;
  if (c === "a") {
    if (sig[i + 1] === "{") {
      const keyEnd = i + 3;
      if (!BASIC.includes(sig[i + 2] ?? "")) throw new DBusWireError(`signature ${JSON.stringify(sig)}: dict key must be a basic type`);
      const valEnd = completeTypeEnd(sig, keyEnd, depth + 1);
      if (sig[valEnd] !== "}") throw new DBusWireError(`signature ${JSON.stringify(sig)}: dict entry needs exactly two types`);
      return valEnd + 1;
    }
    return completeTypeEnd(sig, i + 1, depth + 1);
  }
  if (c === "(") {
    let j = i + 1;
    if (sig[j] === ")") throw new DBusWireError(`signature ${JSON.stringify(sig)}: empty struct`);
    while (sig[j] !== ")") j = completeTypeEnd(sig, j, depth + 1);
    return j + 1;
  }
  throw new DBusWireError(`signature ${JSON.stringify(sig)}: unexpected ${JSON.stringify(c)}`);
}

function alignmentOf(t: string): number {
  switch (t[0]) {
    case "y": case "g": case "v": return 1;
    case "n": case "q": return 2;
    case "x": case "t": case "d": case "(": case "{": return 8;
    default: return 4; // b i u h s o a
  }
}

// ---------- writing ----------

class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  len = 0;

  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  align(n: number): void {
    const pad = (n - (this.len % n)) % n;
    this.grow(pad);
    this.buf.fill(0, this.len, this.len + pad);
    this.len += pad;
  }

  u8(v: number): void { this.grow(1); this.buf[this.len++] = v; }
  u16(v: number): void { this.align(2); this.grow(2); this.view.setUint16(this.len, v, true); this.len += 2; }
  i16(v: number): void { this.align(2); this.grow(2); this.view.setInt16(this.len, v, true); this.len += 2; }
  u32(v: number): void { this.align(4); this.grow(4); this.view.setUint32(this.len, v, true); this.len += 4; }
  i32(v: number): void { this.align(4); this.grow(4); this.view.setInt32(this.len, v, true); this.len += 4; }
  u64(v: bigint): void { this.align(8); this.grow(8); this.view.setBigUint64(this.len, v, true); this.len += 8; }
  i64(v: bigint): void { this.align(8); this.grow(8); this.view.setBigInt64(this.len, v, true); this.len += 8; }
  f64(v: number): void { this.align(8); this.grow(8); this.view.setFloat64(this.len, v, true); this.len += 8; }
  bytes(b: Uint8Array): void { this.grow(b.length); this.buf.set(b, this.len); this.len += b.length; }
  patchU32(at: number, v: number): void { this.view.setUint32(at, v, true); }
  result(): Uint8Array { return this.buf.slice(0, this.len); }
}

const enc = new TextEncoder();

function writeString(w: Writer, s: string, code: string): void {
  const b = enc.encode(s);
  if (b.includes(0)) throw new DBusWireError(`${code} value ${JSON.stringify(s)} contains a NUL byte`);
  if (code === "g") {
    if (b.length > 255) throw new DBusWireError(`signature ${JSON.stringify(s)} is longer than 255 bytes`);
    splitSignature(s);
    w.u8(b.length);
  } else {
    if (code === "o" && !isObjectPath(s)) throw new DBusWireError(`invalid object path ${JSON.stringify(s)}`);
    w.u32(b.length);
  }
  w.bytes(b);
  w.u8(0);
}

/** Returns whether s is a valid object path ("/", or "/" followed by "/"-separated [A-Za-z0-9_] elements). */
export function isObjectPath(s: string): boolean {
  return s === "/" || /^(\/[A-Za-z0-9_]+)+$/.test(s);
}

function typeError(t: string, v: unknown): DBusWireError {
  return new DBusWireError(`value ${describe(v)} does not fit D-Bus type ${JSON.stringify(t)}`);
}

function describe(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function intValue(t: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw typeError(t, v);
  return v;
}

function writeValue(w: Writer, t: string, v: unknown): void {
  switch (t[0]) {
    case "y": w.u8(intValue(t, v, 0, 0xff)); return;
    case "b":
      if (typeof v !== "boolean") throw typeError(t, v);
      w.u32(v ? 1 : 0);
      return;
    case "n": w.i16(intValue(t, v, -0x8000, 0x7fff)); return;
    case "q": w.u16(intValue(t, v, 0, 0xffff)); return;
    case "i": w.i32(intValue(t, v, -0x80000000, 0x7fffffff)); return;
    case "u": case "h": w.u32(intValue(t, v, 0, 0xffffffff)); return;
    case "x":
      if (typeof v !== "bigint" || v < -(1n << 63n) || v >= 1n << 63n) throw typeError(t, v);
      w.i64(v);
      return;
    case "t":
      if (typeof v !== "bigint" || v < 0n || v >= 1n << 64n) throw typeError(t, v);
      w.u64(v);
      return;
    case "d":
      if (typeof v !== "number") throw typeError(t, v);
      w.f64(v);
      return;
    case "s": case "o": case "g":
      if (typeof v !== "string") throw typeError(t, v);
      writeString(w, v, t[0]);
      return;
    case "v": {
      if (!(v instanceof Variant)) throw typeError(t, v);
      const inner = splitSignature(v.signature);
      if (inner.length !== 1) throw new DBusWireError(`variant signature ${JSON.stringify(v.signature)} must be one complete type`);
      writeString(w, v.signature, "g");
      writeValue(w, v.signature, v.value);
      return;
    }
    case "(": {
      const members = splitSignature(t.slice(1, -1));
      if (!Array.isArray(v) || v.length !== members.length) throw typeError(t, v);
      w.align(8);
      members.forEach((m, i) => writeValue(w, m, v[i]));
      return;
    }
    case "a": {
      if (!Array.isArray(v)) throw typeError(t, v);
      const elem = t.slice(1);
      w.u32(0);
      const lenAt = w.len - 4;
      w.align(alignmentOf(elem)); // the padding before the first element is not counted in the length
      const start = w.len;
      if (elem[0] === "{") {
        const [k, val] = splitSignature(elem.slice(1, -1)) as [string, string];
        for (const pair of v) {
          if (!Array.isArray(pair) || pair.length !== 2) throw typeError(elem, pair);
          w.align(8);
          writeValue(w, k, pair[0]);
          writeValue(w, val, pair[1]);
        }
      } else {
        for (const item of v) writeValue(w, elem, item);
      }
      const n = w.len - start;
      if (n > 67108864) throw new DBusWireError(`array of ${n} bytes is longer than 64 MiB`);
      w.patchU32(lenAt, n);
      return;
    }
  }
  throw new DBusWireError(`unsupported D-Bus type ${JSON.stringify(t)}`);
}

/** Returns the body bytes of values marshalled by `signature`, as they follow an 8-aligned header. */
export function marshalBody(signature: string, values: unknown[]): Uint8Array {
  const types = splitSignature(signature);
  if (types.length !== values.length) {
    throw new DBusWireError(`signature ${JSON.stringify(signature)} has ${types.length} types for ${values.length} values`);
  }
  const w = new Writer();
  types.forEach((t, i) => writeValue(w, t, values[i]));
  return w.result();
}

/** Returns the whole message on the wire (little-endian); throws DBusWireError on a value that does not fit. */
export function encodeMessage(m: Message): Uint8Array {
  const signature = m.signature ?? "";
  const body = marshalBody(signature, m.body);
  const fields: [number, Variant][] = [];
  if (m.path !== undefined) fields.push([FIELD_PATH, new Variant("o", m.path)]);
  if (m.member !== undefined) fields.push([FIELD_MEMBER, new Variant("s", m.member)]);
  if (m.interface !== undefined) fields.push([FIELD_INTERFACE, new Variant("s", m.interface)]);
  if (m.errorName !== undefined) fields.push([FIELD_ERROR_NAME, new Variant("s", m.errorName)]);
  if (m.replySerial !== undefined) fields.push([FIELD_REPLY_SERIAL, new Variant("u", m.replySerial)]);
  if (m.destination !== undefined) fields.push([FIELD_DESTINATION, new Variant("s", m.destination)]);
  if (m.sender !== undefined) fields.push([FIELD_SENDER, new Variant("s", m.sender)]);
  if (signature !== "") fields.push([FIELD_SIGNATURE, new Variant("g", signature)]);
  if (m.unixFds !== undefined) fields.push([FIELD_UNIX_FDS, new Variant("u", m.unixFds)]);

  const w = new Writer();
  w.u8(0x6c); // 'l': little-endian
  w.u8(m.type);
  w.u8(m.flags);
  w.u8(1); // protocol version
  w.u32(body.length);
  if (!Number.isInteger(m.serial) || m.serial < 1 || m.serial > 0xffffffff) throw new DBusWireError(`invalid serial ${m.serial}`);
  w.u32(m.serial);
  writeValue(w, "a(yv)", fields);
  w.align(8); // the body starts on an 8-byte boundary
  w.bytes(body);
  if (w.len > MAX_MESSAGE_LEN) throw new DBusWireError(`message of ${w.len} bytes is too long`);
  return w.result();
}

// ---------- reading ----------

class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array, private readonly little: boolean, private readonly base = 0) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new DBusWireError(`${what}: ${this.buf.length - this.pos} bytes left, want ${n}`);
  }

  // Alignment counts from the start of the message; the body starts 8-aligned, so `base` only shifts by a multiple of 8.
  align(n: number): void {
    const pad = (n - ((this.base + this.pos) % n)) % n;
    this.need(pad, "padding");
    for (let i = 0; i < pad; i++) {
      if (this.buf[this.pos + i] !== 0) throw new DBusWireError(`padding byte at ${this.pos + i} is not zero`);
    }
    this.pos += pad;
  }

  u8(): number { this.need(1, "byte"); return this.buf[this.pos++]!; }
  u16(): number { this.align(2); this.need(2, "uint16"); const v = this.view.getUint16(this.pos, this.little); this.pos += 2; return v; }
  i16(): number { this.align(2); this.need(2, "int16"); const v = this.view.getInt16(this.pos, this.little); this.pos += 2; return v; }
  u32(): number { this.align(4); this.need(4, "uint32"); const v = this.view.getUint32(this.pos, this.little); this.pos += 4; return v; }
  i32(): number { this.align(4); this.need(4, "int32"); const v = this.view.getInt32(this.pos, this.little); this.pos += 4; return v; }
  u64(): bigint { this.align(8); this.need(8, "uint64"); const v = this.view.getBigUint64(this.pos, this.little); this.pos += 8; return v; }
  i64(): bigint { this.align(8); this.need(8, "int64"); const v = this.view.getBigInt64(this.pos, this.little); this.pos += 8; return v; }
  f64(): number { this.align(8); this.need(8, "double"); const v = this.view.getFloat64(this.pos, this.little); this.pos += 8; return v; }

  str(len: number, what: string): string {
    this.need(len + 1, what);
    const s = dec.decode(this.buf.subarray(this.pos, this.pos + len));
    if (this.buf[this.pos + len] !== 0) throw new DBusWireError(`${what} is not NUL-terminated`);
    this.pos += len + 1;
    return s;
  }
}

const dec = new TextDecoder("utf-8", { fatal: true });

function readValue(r: Reader, t: string, depth = 0): unknown {
  if (depth > 64) throw new DBusWireError("value nests too deep");
  switch (t[0]) {
    case "y": return r.u8();
    case "b": {
      const v = r.u32();
      if (v > 1) throw new DBusWireError(`boolean value ${v} is neither 0 nor 1`);
      return v === 1;
    }
    case "n": return r.i16();
    case "q": return r.u16();
    case "i": return r.i32();
    case "u": case "h": return r.u32();
    case "x": return r.i64();
    case "t": return r.u64();
    case "d": return r.f64();
    case "s": case "o": return r.str(r.u32(), t[0] === "s" ? "string" : "object path");
    case "g": return r.str(r.u8(), "signature");
    case "v": {
      const sig = r.str(r.u8(), "variant signature");
      if (splitSignature(sig).length !== 1) throw new DBusWireError(`variant signature ${JSON.stringify(sig)} is not one complete type`);
      return new Variant(sig, readValue(r, sig, depth + 1));
    }
    case "(": {
      r.align(8);
      return splitSignature(t.slice(1, -1)).map((m) => readValue(r, m, depth + 1));
    }
    case "a": {
      const n = r.u32();
      if (n > 67108864) throw new DBusWireError(`array of ${n} bytes is longer than 64 MiB`);
      const elem = t.slice(1);
      r.align(alignmentOf(elem));
      const end = r.pos + n;
      const out: unknown[] = [];
      const kv = elem[0] === "{" ? (splitSignature(elem.slice(1, -1)) as [string, string]) : undefined;
      while (r.pos < end) {
        if (kv) {
          r.align(8);
          out.push([readValue(r, kv[0], depth + 1), readValue(r, kv[1], depth + 1)]);
        } else {
          out.push(readValue(r, elem, depth + 1));
        }
      }
      if (r.pos !== end) throw new DBusWireError(`array elements overrun its length ${n}`);
      return out;
    }
  }
  throw new DBusWireError(`unsupported D-Bus type ${JSON.stringify(t)}`);
}

/**
 * Returns the total length of the message at the start of `buf` once its 16-byte prefix is there, or undefined
 * while fewer than 16 bytes are buffered. Throws on a bad endianness mark or a length past the spec's maximum.
 */
export function messageLength(buf: Uint8Array): number | undefined {
  if (buf.length < FIXED_HEADER_LEN) return undefined;
  const little = endianOf(buf[0]!);
  const view = new DataView(buf.buffer, buf.byteOffset, FIXED_HEADER_LEN);
  const bodyLen = view.getUint32(4, little);
  const fieldsLen = view.getUint32(12, little);
  const total = FIXED_HEADER_LEN + fieldsLen + ((8 - (fieldsLen % 8)) % 8) + bodyLen;
  if (total > MAX_MESSAGE_LEN) throw new DBusWireError(`message of ${total} bytes is too long`);
  return total;
}

function endianOf(mark: number): boolean {
  if (mark === 0x6c) return true; // 'l'
  if (mark === 0x42) return false; // 'B'
  throw new DBusWireError(`bad endianness mark 0x${mark.toString(16)}`);
}

/** Returns the message that is exactly `buf`; throws DBusWireError on malformed bytes or a body that does not match its signature. */
export function decodeMessage(buf: Uint8Array): Message {
  const total = messageLength(buf);
  if (total === undefined) throw new DBusWireError(`message of ${buf.length} bytes is shorter than its 16-byte header`);
  if (total !== buf.length) throw new DBusWireError(`message says ${total} bytes, got ${buf.length}`);
  const little = endianOf(buf[0]!);
  const r = new Reader(buf, little);
  r.u8();
  const type = r.u8();
  const flags = r.u8();
  const version = r.u8();
  if (version !== 1) throw new DBusWireError(`protocol version ${version}, want 1`);
  const bodyLen = r.u32();
  const serial = r.u32();
  const fields = readValue(r, "a(yv)") as [number, Variant][];
  r.align(8);
  const m: Message = { type, flags, serial, body: [] };
  for (const [code, v] of fields) {
    const want = FIELD_TYPES[code];
    if (want === undefined) continue; // unknown fields must be ignored
    if (v.signature !== want) throw new DBusWireError(`header field ${code} has type ${JSON.stringify(v.signature)}, want ${JSON.stringify(want)}`);
    const key = FIELD_KEYS[code]!;
    (m as unknown as Record<string, unknown>)[key] = v.value;
  }
  const signature = m.signature ?? "";
  const bodyStart = r.pos;
  if (bodyStart + bodyLen !== buf.length) throw new DBusWireError("body length does not match the message length");
  const br = new Reader(buf.subarray(bodyStart), little, 0);
  m.body = splitSignature(signature).map((t) => readValue(br, t));
  if (br.pos !== bodyLen) throw new DBusWireError(`body has ${bodyLen - br.pos} bytes past its signature ${JSON.stringify(signature)}`);
  return m;
}

const FIELD_TYPES: Record<number, string> = {
  [FIELD_PATH]: "o", [FIELD_INTERFACE]: "s", [FIELD_MEMBER]: "s", [FIELD_ERROR_NAME]: "s", [FIELD_REPLY_SERIAL]: "u",
  [FIELD_DESTINATION]: "s", [FIELD_SENDER]: "s", [FIELD_SIGNATURE]: "g", [FIELD_UNIX_FDS]: "u",
};
const FIELD_KEYS: Record<number, keyof Message> = {
  [FIELD_PATH]: "path", [FIELD_INTERFACE]: "interface", [FIELD_MEMBER]: "member", [FIELD_ERROR_NAME]: "errorName",
  [FIELD_REPLY_SERIAL]: "replySerial", [FIELD_DESTINATION]: "destination", [FIELD_SENDER]: "sender",
  [FIELD_SIGNATURE]: "signature", [FIELD_UNIX_FDS]: "unixFds",
};
