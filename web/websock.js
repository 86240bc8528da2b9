// websock.js — a WebSocket to websockify, read as a byte stream.
//
// An ES module with no dependencies and no build step:
//
//   import { Websock } from "./websock.js";
//   const ws = new Websock();
//   ws.addEventListener("message", () => {
//     if (ws.rQwait("version", 12)) return;      // fewer than 12 bytes queued: wait for more
//     const version = ws.rQshiftStr(12);
//   });
//   ws.open("ws://host:6080/");
//
// websockify carries the target's TCP bytes in WebSocket messages whose boundaries mean nothing:
// a 4-byte value may arrive split over two messages, or ten values in one. Websock appends every
// message's bytes to a receive queue; a reader checks that enough bytes are queued (rQwait) and
// then takes values off the front (rQshift*). Multi-byte values are big-endian (network order, as
// RFB and most binary protocols use).
//
// Subprotocols: open() offers "binary" and "base64" by default. websockify (this one and the
// Python one) picks "binary" when offered: binary frames both ways. A server that only knows
// "base64" sends text frames holding base64; Websock decodes them, and encodes what it sends the
// same way. A server that answers with no subprotocol is treated as binary.
//
// Events (Websock is an EventTarget):
//   "open"    — connected; `ws.protocol` says "binary" or "base64".
//   "message" — bytes were added to the receive queue (event.detail.length: how many).
//   "close"   — the connection ended; event.detail = { code, reason, wasClean }.
//   "error"   — the WebSocket failed, or a frame could not be decoded; event.detail.message says
//               what. A failed connection is followed by "close".

const INITIAL_CAPACITY = 64 * 1024;

function latin1(bytes) {
  // One character per byte. Chunked: apply() with a huge array overflows the argument stack.
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x2000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x2000));
  }
  return text;
}

export class Websock extends EventTarget {
  #socket = null;
  #mode = "binary";
  // The receive queue: bytes [#readAt, #writeAt) of #buffer are unread.
  #buffer = new Uint8Array(INITIAL_CAPACITY);
  #readAt = 0;
  #writeAt = 0;
  #encoder = new TextEncoder();

  // The name of what the last rQwait that said "wait" was waiting for (for error messages and
  // debugging), or "" when the last rQwait found enough bytes.
  waitingFor = "";

  // Connects to `url`, offering `protocols` (default: binary, then base64).
  open(url, protocols = ["binary", "base64"]) {
    if (this.#socket) throw new Error("Websock.open: already open; close() first");
    this.#readAt = 0;
    this.#writeAt = 0;
    const socket = new WebSocket(url, protocols);
    socket.binaryType = "arraybuffer";
    socket.addEventListener("open", () => {
      this.#mode = socket.protocol === "base64" ? "base64" : "binary";
      this.dispatchEvent(new Event("open"));
    });
    socket.addEventListener("message", (event) => this.#receive(event.data));
    socket.addEventListener("error", () => {
      this.dispatchEvent(new CustomEvent("error", { detail: { message: `WebSocket to ${url} failed` } }));
    });
    socket.addEventListener("close", (event) => {
      if (this.#socket === socket) this.#socket = null;
      this.dispatchEvent(new CustomEvent("close", {
        detail: { code: event.code, reason: event.reason, wasClean: event.wasClean },
      }));
    });
    this.#socket = socket;
  }

  close(code = 1000, reason = "") {
    if (this.#socket) this.#socket.close(code, reason);
  }

  // "binary" or "base64" once open ("" before).
  get protocol() {
    return this.#socket && this.#socket.readyState === WebSocket.OPEN ? this.#mode : "";
  }

  // The WebSocket's readyState (WebSocket.CLOSED when there is none).
  get readyState() {
    return this.#socket ? this.#socket.readyState : WebSocket.CLOSED;
  }

  // ------------------------------------------------------------------ receiving

  #receive(data) {
    let bytes;
    if (typeof data === "string") {
      if (this.#mode !== "base64") {
        this.#fail("a text frame on a binary connection: dropped");
        return;
      }
      let decoded;
      try {
        decoded = atob(data);
      } catch {
        this.#fail(`a text frame that is not base64 (${data.length} characters): dropped`);
        return;
      }
      bytes = new Uint8Array(decoded.length);
      for (let i = 0; i < decoded.length; i++) bytes[i] = decoded.charCodeAt(i);
    } else {
      bytes = new Uint8Array(data);
    }
    this.#append(bytes);
    this.dispatchEvent(new CustomEvent("message", { detail: { length: bytes.length } }));
  }

  #fail(message) {
    this.dispatchEvent(new CustomEvent("error", { detail: { message } }));
  }

  // Adds bytes at the end of the queue. Unread bytes move to the front only when the free space
  // at the end is too small; the buffer doubles only when the unread bytes fill half of it. So each
  // byte is copied a bounded number of times on average, however long the queue gets.
  #append(bytes) {
    const unread = this.#writeAt - this.#readAt;
    if (this.#writeAt + bytes.length > this.#buffer.length) {
      const needed = unread + bytes.length;
      if (needed * 2 > this.#buffer.length) {
        let capacity = this.#buffer.length;
        while (capacity < needed * 2) capacity *= 2;
        const grown = new Uint8Array(capacity);
        grown.set(this.#buffer.subarray(this.#readAt, this.#writeAt));
        this.#buffer = grown;
      } else {
        this.#buffer.copyWithin(0, this.#readAt, this.#writeAt);
      }
      this.#readAt = 0;
      this.#writeAt = unread;
    }
    this.#buffer.set(bytes, this.#writeAt);
    this.#writeAt += bytes.length;
  }

  #take(n, what) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`${what}: bad length ${n}`);
    if (this.#writeAt - this.#readAt < n) {
      throw new RangeError(`${what}: ${n} bytes wanted, ${this.#writeAt - this.#readAt} queued (call rQwait first)`);
    }
    const at = this.#readAt;
    this.#readAt += n;
    if (this.#readAt === this.#writeAt) {
      this.#readAt = 0;
      this.#writeAt = 0;
    }
    return at;
  }

  // Number of unread bytes.
  rQlen() {
    return this.#writeAt - this.#readAt;
  }

  // True ("wait") when fewer than `n` bytes are queued; nothing is consumed either way.
  // `what` names the awaited item (kept in `waitingFor`).
  rQwait(what, n) {
    if (this.#writeAt - this.#readAt < n) {
      this.waitingFor = what;
      return true;
    }
    this.waitingFor = "";
    return false;
  }

  // The next byte without consuming it.
  rQpeek8() {
    if (this.#writeAt === this.#readAt) throw new RangeError("rQpeek8: the queue is empty");
    return this.#buffer[this.#readAt];
  }

  rQshift8() {
    return this.#buffer[this.#take(1, "rQshift8")];
  }

  // Big-endian unsigned 16-bit value.
  rQshift16() {
    const at = this.#take(2, "rQshift16");
    const b = this.#buffer;
    return (b[at] << 8) | b[at + 1];
  }

  // Big-endian unsigned 32-bit value (0 … 4294967295, never negative).
  rQshift32() {
    const at = this.#take(4, "rQshift32");
    const b = this.#buffer;
    return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
  }

  // `n` bytes as a string of one character per byte (ISO 8859-1, as RFB's strings; for UTF-8 text
  // use `new TextDecoder().decode(ws.rQshiftBytes(n))`).
  rQshiftStr(n) {
    const at = this.#take(n, "rQshiftStr");
    return latin1(this.#buffer.subarray(at, at + n));
  }

  // `n` bytes, as a new Uint8Array (a copy: later reads do not change it).
  rQshiftBytes(n) {
    const at = this.#take(n, "rQshiftBytes");
    return this.#buffer.slice(at, at + n);
  }

  // ------------------------------------------------------------------ sending

  // Sends bytes: a Uint8Array, an ArrayBuffer or an array of numbers 0…255.
  send(data) {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) throw new Error("Websock.send: not open");
    let bytes;
    if (data instanceof Uint8Array) bytes = data;
    else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (Array.isArray(data)) bytes = Uint8Array.from(data, (v) => {
      if (!Number.isInteger(v) || v < 0 || v > 255) throw new RangeError(`Websock.send: ${v} is not a byte`);
      return v;
    });
    else throw new TypeError("Websock.send: expects a Uint8Array, an ArrayBuffer or an array of bytes");
    if (bytes.length === 0) return;
    socket.send(this.#mode === "base64" ? btoa(latin1(bytes)) : bytes);
  }

  // Sends `text` encoded as UTF-8.
  sendString(text) {
    this.send(this.#encoder.encode(text));
  }
}
