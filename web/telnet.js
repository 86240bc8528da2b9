// telnet.js — the terminal of telnet.html: a shell or telnet target reached through websockify.
//
// Keys typed into the terminal are sent as they are typed (the remote end echoes and edits the
// line, as with any terminal); the output is drawn as plain text: printable characters, CR, LF,
// backspace and tab move the cursor, ESC [ … K erases to the end of the line, other escape sequences
// (colours, titles, bracketed paste) are dropped. Telnet option negotiation (IAC) is answered
// minimally: the remote end may echo and suppress go-ahead; every other option is refused.

import { Websock } from "./websock.js";

const IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251, SB = 250, SE = 240;
const OPT_ECHO = 1, OPT_SGA = 3;
const MAX_LINES = 2000;

// Telnet commands in the byte stream: strips them, answers them, returns the data bytes. A state
// machine, so a command cut between two WebSocket messages is handled like a whole one.
export class TelnetFilter {
  telnetSeen = false;
  #state = "data"; // data · iac · option (after DO/DONT/WILL/WONT) · sb · sb-iac
  #verb = 0;

  // `send(bytes)` sends an answer to the remote end.
  constructor(send) {
    this.send = send;
  }

  filter(bytes) {
    const data = [];
    for (const b of bytes) {
      switch (this.#state) {
        case "data":
          if (b === IAC) this.#state = "iac";
          else data.push(b);
          break;
        case "iac":
          if (b === IAC) {
            data.push(IAC); // IAC IAC: a data byte 255
            this.#state = "data";
            break;
          }
          this.telnetSeen = true;
          if (b === DO || b === DONT || b === WILL || b === WONT) {
            this.#verb = b;
            this.#state = "option";
          } else {
            this.#state = b === SB ? "sb" : "data"; // NOP, GA, AYT, …: nothing to do
          }
          break;
        case "option":
          this.#answer(this.#verb, b);
          this.#state = "data";
          break;
        case "sb":
          if (b === IAC) this.#state = "sb-iac";
          break;
        case "sb-iac":
          this.#state = b === SE ? "data" : "sb";
          break;
      }
    }
    return Uint8Array.from(data);
  }

  #answer(verb, option) {
    let reply;
    if (verb === WILL) reply = option === OPT_ECHO || option === OPT_SGA ? DO : DONT;
    else if (verb === DO) reply = WONT;
    else return; // DONT / WONT: we never enable anything, so there is nothing to switch off
    this.send([IAC, reply, option]);
  }
}

// A line-oriented screen: lines of text and a cursor column on the last line.
class Screen {
  lines = [""];
  col = 0;
  escape = null; // the escape sequence being read, or null

  write(text) {
    for (const ch of text) {
      if (this.escape !== null) {
        this.#escapeChar(ch);
        continue;
      }
      switch (ch) {
        case "\x1b": this.escape = ""; break;
        case "\r": this.col = 0; break;
        case "\n": this.#newline(); break;
        case "\b": if (this.col > 0) this.col--; break;
        case "\t": this.#put(" ".repeat(8 - (this.col % 8))); break;
        case "\x07": break;
        default:
          if (ch >= " ") this.#put(ch);
      }
    }
  }

  // ESC [ params final  (CSI) · ESC ] text BEL or ESC \  (OSC) · ESC x (two-character sequences).
  #escapeChar(ch) {
    const seq = this.escape + ch;
    if (seq.length === 1 && ch !== "[" && ch !== "]") {
      this.escape = null;
    } else if (seq[0] === "[") {
      if (seq.length > 1 && ch >= "@" && ch <= "~") {
        this.escape = null;
        if (ch === "K") this.#eraseToEnd();
      } else {
        this.escape = seq;
      }
    } else if (seq[0] === "]") {
      if (ch === "\x07" || seq.endsWith("\x1b\\")) this.escape = null;
      else this.escape = seq.length > 4096 ? null : seq;
    }
  }

  #put(text) {
    const last = this.lines.length - 1;
    const line = this.lines[last].padEnd(this.col);
    this.lines[last] = line.slice(0, this.col) + text + line.slice(this.col + text.length);
    this.col += text.length;
  }

  #eraseToEnd() {
    const last = this.lines.length - 1;
    this.lines[last] = this.lines[last].slice(0, this.col);
  }

  #newline() {
    this.lines.push("");
    this.col = 0;
    if (this.lines.length > MAX_LINES) this.lines.splice(0, this.lines.length - MAX_LINES);
  }

  text() {
    return this.lines.join("\n");
  }
}

// Bytes a key press sends, or null for keys the terminal leaves to the browser.
function keyBytes(event, telnet) {
  if (event.ctrlKey && !event.altKey && event.key.length === 1) {
    const code = event.key.toUpperCase().charCodeAt(0);
    if (code >= 0x40 && code <= 0x5f) return String.fromCharCode(code - 0x40);
    return null;
  }
  switch (event.key) {
    case "Enter": return telnet ? "\r\0" : "\r";
    case "Backspace": return "\x7f";
    case "Tab": return "\t";
    case "Escape": return "\x1b";
    case "ArrowUp": return "\x1b[A";
    case "ArrowDown": return "\x1b[B";
    case "ArrowRight": return "\x1b[C";
    case "ArrowLeft": return "\x1b[D";
    case "Home": return "\x1b[H";
    case "End": return "\x1b[F";
    case "Delete": return "\x1b[3~";
  }
  if (event.key.length > 0 && [...event.key].length === 1 && !event.metaKey) return event.key;
  return null;
}

// The default WebSocket URL: the page's own host (websockify serves the page with --web on the
// port it proxies), with the page's `path` parameter (e.g. "?token=xyz" routes with a token plugin).
export function defaultURL(location) {
  const params = new URLSearchParams(location.search);
  if (params.get("url")) return params.get("url");
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/${params.get("path") || ""}`;
}

export function startTerminal({ output, status, urlInput, connectButton }) {
  const screen = new Screen();
  let ws = null;
  let telnet = null;

  const render = () => {
    output.textContent = screen.text();
    output.scrollTop = output.scrollHeight;
  };
  const setStatus = (text) => { status.textContent = text; };

  const connect = () => {
    if (ws) ws.close();
    const current = new Websock();
    ws = current;
    const filter = new TelnetFilter((bytes) => current.send(bytes));
    const decoder = new TextDecoder(); // per connection: a character cut at a close is not carried over
    telnet = filter;
    ws.addEventListener("open", () => {
      setStatus(`connected (${current.protocol})`);
      output.focus();
    });
    ws.addEventListener("message", () => {
      const data = filter.filter(current.rQshiftBytes(current.rQlen()));
      screen.write(decoder.decode(data, { stream: true }));
      render();
    });
    ws.addEventListener("error", (event) => setStatus(`error: ${event.detail.message}`));
    ws.addEventListener("close", (event) => {
      if (ws === current) setStatus(`disconnected (code ${event.detail.code}${event.detail.reason ? ": " + event.detail.reason : ""})`);
    });
    setStatus("connecting…");
    ws.open(urlInput.value);
  };

  output.addEventListener("keydown", (event) => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const bytes = keyBytes(event, telnet && telnet.telnetSeen);
    if (bytes === null) return;
    event.preventDefault();
    ws.sendString(bytes);
  });
  output.addEventListener("paste", (event) => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    event.preventDefault();
    ws.sendString(event.clipboardData.getData("text").replace(/\r?\n/g, "\r"));
  });
  connectButton.addEventListener("click", connect);
  return { connect, screen };
}
