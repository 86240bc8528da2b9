// wsrecord-inspect serve: the page. Sessions of the recording, a timeline, the decoded RFB messages,
// and the screen drawn by noVNC's own core (served under /novnc/) from the recording through a fake
// socket: noVNC's RFB accepts any object shaped like a WebSocket, and this one never connects
// anywhere. The server hands out the bytes to feed it (GET /api/sessions/N/stream, see
// ViewerStream.swift): the recorded server bytes when playing from the start, or a stream made
// from the nearest keyframe (Raw rectangles) when seeking.

const $ = (id) => document.getElementById(id);

let RFB = null;
let encodings = {};
let recording = null;
let selected = null;    // the selected session's summary
let timeline = null;    // its timeline JSON
let player = null;

// Pseudo-encodings noVNC's RFB handles itself (rfb.js _handleRect), by their name in encodings.js;
// those a version does not define are left out.
const HANDLED_PSEUDO = ["pseudoEncodingLastRect", "pseudoEncodingVMwareCursor", "pseudoEncodingCursor",
    "pseudoEncodingQEMUExtendedKeyEvent", "pseudoEncodingDesktopName", "pseudoEncodingDesktopSize",
    "pseudoEncodingExtendedDesktopSize", "pseudoEncodingExtendedMouseButtons", "pseudoEncodingQEMULedEvent"];

function seconds(us) { return (us / 1e6).toFixed(3) + " s"; }

function bytesText(n) {
    if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + " MiB";
    if (n >= 1 << 10) return (n / (1 << 10)).toFixed(1) + " KiB";
    return n + " B";
}

async function getJSON(url) {
    const response = await fetch(url);
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
}

// A WebSocket-like object for noVNC (the properties its Websock.attach() checks). What noVNC sends
// (ClientInit, SetEncodings, update requests) goes nowhere: the recording already holds the answers.
class FakeChannel {
    constructor() {
        this.binaryType = "arraybuffer";
        this.protocol = "";
        this.readyState = 0;  // WebSocket.CONNECTING
        this.onopen = null;
        this.onmessage = null;
        this.onclose = null;
        this.onerror = null;
        this.sent = 0;
    }
    send(data) { this.sent += data.byteLength || data.length || 0; }
    // Closed a moment later, as a WebSocket is: noVNC arms its disconnect timer after asking for the
    // close, and a close event that came before that would leave the timer to fire ("Disconnection
    // timed out.") three seconds later.
    close() {
        if (this.readyState >= 2) return;
        this.readyState = 2;  // WebSocket.CLOSING
        setTimeout(() => {
            this.readyState = 3;  // WebSocket.CLOSED
            if (this.onclose) this.onclose({ code: 1000, reason: "", wasClean: true });
        }, 0);
    }
    open() {
        this.readyState = 1;  // WebSocket.OPEN
        if (this.onopen) this.onopen(new Event("open"));
    }
    // noVNC reads at most one handshake step per message (a real server waits for each answer),
    // and leaves bytes after ServerInit in its queue until the next message: a few empty messages
    // after each piece make it go on with what it has (an empty one is ignored when nothing is left).
    deliver(bytes) {
        if (this.readyState !== 1 || !this.onmessage) return;
        const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
        this.onmessage({ data: copy });
        for (let i = 0; i < 4 && this.readyState === 1; i++) this.onmessage({ data: new ArrayBuffer(0) });
    }
}

// The body of a stream response: pieces of [u64 LE time µs][u32 LE length][bytes].
function parsePieces(buffer) {
    const view = new DataView(buffer);
    const pieces = [];
    let at = 0;
    while (at + 12 <= buffer.byteLength) {
        const t = view.getUint32(at, true) + view.getUint32(at + 4, true) * 4294967296;
        const length = view.getUint32(at + 8, true);
        pieces.push({ t, bytes: new Uint8Array(buffer, at + 12, length) });
        at += 12 + length;
    }
    return pieces;
}

class Player {
    constructor(session) {
        this.session = session;
        this.position = session.first_us;
        this.playing = false;
        this.speed = Number($("speed").value);
        this.queue = [];
        this.next = null;
        this.mode = "";
        this.generation = 0;
        this.fetching = false;
        this.loading = false;
        this.stopAt = null;
        this.rfb = null;
        this.timer = setInterval(() => this.tick(), 40);
    }

    get lastUs() { return timeline ? timeline.last_us : this.session.last_us; }

    supported(rfb) {
        const numbers = Object.keys(rfb._decoders).map(Number);
        for (const name of HANDLED_PSEUDO) if (name in encodings) numbers.push(encodings[name] | 0);
        return numbers.join(",");
    }

    // Starts noVNC afresh at `atUs`: a new RFB on a new fake channel, fed the stream from there.
    async seek(atUs) {
        const generation = ++this.generation;
        this.loading = true;
        this.position = Math.max(this.session.first_us, Math.min(atUs, this.lastUs));
        this.baseWall = performance.now();
        this.basePosition = this.position;
        this.disconnect();
        const screen = $("screen");
        screen.textContent = "";
        const channel = new FakeChannel();
        const rfb = new RFB(screen, channel, { shared: true });
        rfb.viewOnly = true;
        rfb.scaleViewport = false;
        rfb.addEventListener("disconnect", (e) => {
            if (generation === this.generation && !e.detail.clean) $("screen-note").textContent = "noVNC stopped: the stream broke";
        });
        this.rfb = rfb;
        this.channel = channel;
        channel.open();
        $("screen-note").textContent = "";
        try {
            const response = await fetch(`/api/sessions/${this.session.session}/stream?at=${Math.round(this.position)}&supported=${this.supported(rfb)}`);
            if (generation !== this.generation) return;
            if (!response.ok) {
                $("screen-note").textContent = (await response.json()).error;
                this.queue = [];
                this.next = null;
            } else {
                this.mode = response.headers.get("X-Viewer-Mode");
                const next = response.headers.get("X-Viewer-Next");
                this.next = next === "end" ? null : Number(next);
                this.queue = parsePieces(await response.arrayBuffer());
                if (generation !== this.generation) return;
            }
        } finally {
            if (generation === this.generation) {
                this.loading = false;
                this.baseWall = performance.now();
                this.basePosition = this.position;
                this.deliverDue();
                updateControls();
            }
        }
    }

    async fetchMore() {
        if (this.fetching || this.next === null || this.loading) return;
        this.fetching = true;
        const generation = this.generation;
        try {
            const response = await fetch(`/api/sessions/${this.session.session}/stream?from=${this.next}&mode=${this.mode}`);
            if (generation !== this.generation || !response.ok) return;
            const next = response.headers.get("X-Viewer-Next");
            const pieces = parsePieces(await response.arrayBuffer());
            if (generation !== this.generation) return;
            const before = this.next;
            this.next = next === "end" ? null : Number(next);
            this.queue.push(...pieces);
            // Following a growing recording: nothing new yet, ask again later.
            if (this.next === before && pieces.length === 0) this.retryAfter = performance.now() + 500;
        } finally {
            this.fetching = false;
        }
    }

    deliverDue() {
        while (this.queue.length > 0 && this.queue[0].t <= this.position) this.channel.deliver(this.queue.shift().bytes);
    }

    tick() {
        if (this.loading) return;
        if (this.playing) {
            let position = this.basePosition + (performance.now() - this.baseWall) * 1000 * this.speed;
            if (this.stopAt !== null && position >= this.stopAt) {
                position = this.stopAt;
                this.pause();
            }
            const growing = selected && selected.growing;
            if (position >= this.lastUs && !growing) {
                position = this.lastUs;
                this.pause();
            }
            this.position = Math.min(position, Math.max(this.lastUs, this.position));
        }
        this.deliverDue();
        if (this.queue.length < 8 && this.next !== null && !(this.retryAfter > performance.now())) this.fetchMore();
        updateClock();
    }

    play(untilUs = null) {
        this.stopAt = untilUs;
        if (this.position >= this.lastUs && !(selected && selected.growing)) return this.seek(this.session.first_us).then(() => this.play(untilUs));
        this.playing = true;
        this.baseWall = performance.now();
        this.basePosition = this.position;
        updateControls();
        return Promise.resolve();
    }

    pause() {
        this.playing = false;
        this.stopAt = null;
        updateControls();
    }

    setSpeed(speed) {
        this.basePosition = this.position;
        this.baseWall = performance.now();
        this.speed = speed;
    }

    // Settled: nothing loading, and every piece due at the current position delivered.
    get settled() {
        return !this.loading && !(this.queue.length > 0 && this.queue[0].t <= this.position)
            && !(this.fetching && this.queue.length === 0 && this.next !== null);
    }

    disconnect() {
        if (this.rfb) {
            try { this.rfb.disconnect(); } catch (e) { /* already gone */ }
        }
        this.rfb = null;
        this.queue = [];
    }

    destroy() {
        this.generation++;
        this.disconnect();
        clearInterval(this.timer);
    }
}

// ---- page ---------------------------------------------------------------

function renderStatus() {
    $("file").textContent = recording.path;
    const parts = [recording.format === "websockify-legacy" ? "legacy Python websockify recording" : "websockify-swift recording",
        bytesText(recording.file_bytes), recording.sessions.length + " session" + (recording.sessions.length === 1 ? "" : "s")];
    if (recording.gaps.length) parts.push(recording.gaps.length + " gap" + (recording.gaps.length === 1 ? "" : "s"));
    if (recording.markers.length) parts.push(recording.markers.length + " file marker" + (recording.markers.length === 1 ? "" : "s"));
    if (recording.following) parts.push("following the file as it grows");
    else if (recording.reading) parts.push("reading…");
    $("status").textContent = parts.join(" · ");
    const damage = $("damage");
    const notes = [];
    if (recording.failure) notes.push("Reading stopped: " + recording.failure + ".");
    for (const d of recording.damages) {
        let text = `Damaged: ${d.text}.`;
        if (d.after_session !== undefined) text += ` What is shown stops there: after session ${d.after_session} at ${seconds(d.after_us)} (byte ${d.offset}).`;
        else text += ` Nothing before byte ${d.offset} was readable.`;
        notes.push(text);
    }
    damage.hidden = notes.length === 0;
    damage.textContent = notes.join(" ");
}

function renderSessions() {
    const body = $("sessions").tBodies[0];
    body.textContent = "";
    for (const s of recording.sessions) {
        const row = body.insertRow();
        row.dataset.session = s.session;
        if (selected && selected.session === s.session) row.className = "selected";
        const screen = s.rfb ? `${s.rfb.name} ${s.rfb.width}×${s.rfb.height}` : "no RFB screen";
        const ended = s.closed ? `${s.closed.by}${s.closed.code !== undefined ? " " + s.closed.code : ""}` : (s.growing ? "open" : "not closed");
        const cells = [s.session, s.start || "", s.client || "", s.target || "", seconds(s.last_us - s.first_us),
            bytesText(s.client_bytes), bytesText(s.target_bytes), screen, ended];
        for (const text of cells) row.insertCell().textContent = text;
        row.addEventListener("click", () => select(s.session));
    }
}

async function refreshRecording() {
    recording = await getJSON("/api/recording");
    renderStatus();
    if (selected) {
        const fresh = recording.sessions.find((s) => s.session === selected.session);
        const grew = fresh && fresh.last_us !== selected.last_us;
        const screenArrived = fresh && fresh.rfb && !selected.rfb;
        selected = fresh || selected;
        if (player) player.session = selected;
        if (grew) await refreshTimeline();
        if (screenArrived && player) await player.seek(selected.first_us);
    }
    renderSessions();
    if (!selected && recording.sessions.length > 0 && (!recording.reading || recording.following)) {
        const first = recording.sessions.find((s) => s.rfb) || recording.sessions[0];
        await select(first.session);
    }
}

async function refreshTimeline() {
    const width = Math.max($("timeline").clientWidth, 200);
    timeline = await getJSON(`/api/sessions/${selected.session}/timeline?buckets=${Math.floor(width / 2)}`);
    drawTimeline();
}

async function select(number) {
    selected = recording.sessions.find((s) => s.session === number);
    renderSessions();
    $("player").hidden = false;
    if (player) player.destroy();
    timeline = null;
    player = new Player(selected);
    await refreshTimeline();
    messagesWindow = null;
    // Start where the screen is first drawn, not at the session's opening.
    if (selected.rfb) await player.seek(timeline.first_update_us ?? selected.first_us);
    else $("screen-note").textContent = "this session has no RFB screen";
    updateControls();
    await refreshMessages(true);
}

// ---- timeline -------------------------------------------------------------

const LANES = { target: [4, 30], client: [36, 24], markers: [62, 12], keys: [76, 14], pointer: [92, 14], keyframes: [108, 8] };

function drawTimeline() {
    const canvas = $("timeline");
    const width = canvas.clientWidth;
    canvas.width = width;
    const g = canvas.getContext("2d");
    g.clearRect(0, 0, width, canvas.height);
    if (!timeline) return;
    const first = timeline.first_us;
    const span = Math.max(timeline.last_us - first, 1);
    const x = (t) => ((t - first) / span) * (width - 1);
    const bars = (values, [top, height], colour) => {
        const max = Math.max(1, ...values);
        g.fillStyle = colour;
        const w = (width - 1) / values.length;
        values.forEach((v, i) => {
            if (v === 0) return;
            const h = Math.max(1, Math.round((Math.log1p(v) / Math.log1p(max)) * height));
            g.fillRect(i * w, top + height - h, Math.max(w - 0.5, 1), h);
        });
    };
    bars(timeline.target_bytes, LANES.target, "#2f6fb0");
    bars(timeline.client_bytes, LANES.client, "#e08a1e");
    g.fillStyle = "rgba(224,69,58,0.35)";
    for (const gap of timeline.gaps) g.fillRect(x(gap.from), 0, Math.max(x(gap.to) - x(gap.from), 3), canvas.height);
    if (timeline.screen_stopped_us !== undefined) {
        g.fillStyle = "rgba(224,69,58,0.12)";
        g.fillRect(x(timeline.screen_stopped_us), 0, width, canvas.height);
    }
    // Where a damaged file's readable part stops, in this session.
    for (const d of recording.damages) {
        if (d.after_session !== timeline.session) continue;
        g.fillStyle = "#e0453a";
        g.fillRect(x(d.after_us) - 1, 0, 3, canvas.height);
        g.font = "10px sans-serif";
        const label = "file damaged: " + d.kind;
        g.fillText(label, Math.min(x(d.after_us) + 4, width - g.measureText(label).width - 6), LANES.keyframes[0] + 6);
    }
    g.fillStyle = "#8a3fb8";
    for (const m of timeline.markers) g.fillRect(x(m.t) - 1, LANES.markers[0], 3, LANES.markers[1]);
    for (const k of timeline.keys) {
        g.fillStyle = k.down ? "#2a9a4a" : "#9fd3ad";
        g.fillRect(x(k.t), LANES.keys[0] + (k.down ? 0 : 7), 1.5, 7);
    }
    for (const p of timeline.pointer) {
        g.fillStyle = p.buttons ? "#333" : "#aaa";
        g.fillRect(x(p.t), LANES.pointer[0] + (p.buttons ? 0 : 7), 1, 7);
    }
    g.fillStyle = "#333";
    for (const k of timeline.keyframes) {
        g.beginPath();
        g.moveTo(x(k), LANES.keyframes[0]);
        g.lineTo(x(k) - 3, LANES.keyframes[0] + 7);
        g.lineTo(x(k) + 3, LANES.keyframes[0] + 7);
        g.fill();
    }
    g.fillStyle = "#556";
    g.font = "10px sans-serif";
    g.fillText(seconds(0), 2, canvas.height - 3);
    const end = seconds(span);
    g.fillText(end, width - g.measureText(end).width - 2, canvas.height - 3);
    if (player) {
        g.fillStyle = "#d01818";
        g.fillRect(x(player.position) - 1, 0, 2, canvas.height);
    }
}

function timelineClick(event) {
    if (!timeline || !player || !selected.rfb) return;
    const rect = $("timeline").getBoundingClientRect();
    const fraction = Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 1);
    const wasPlaying = player.playing;
    player.pause();
    player.seek(timeline.first_us + fraction * (timeline.last_us - timeline.first_us)).then(() => {
        if (wasPlaying) player.play();
        refreshMessages(true);
    });
}

// ---- messages --------------------------------------------------------------

let messagesWindow = null;

async function refreshMessages(force) {
    if (!selected || !player) return;
    const position = Math.round(player.position);
    const w = messagesWindow;
    const inside = w && w.messages.length > 0 && position >= w.messages[0].t
        && (position <= w.messages[w.messages.length - 1].t || w.from + w.messages.length >= w.total)
        && w.messages.length >= Math.min(w.total, 50);
    if (!force && inside && w.total === selected.messages) return markMessages();
    messagesWindow = await getJSON(`/api/sessions/${selected.session}/messages?at=${position}&limit=400`);
    const body = $("messages").querySelector("tbody");
    body.textContent = "";
    for (const m of messagesWindow.messages) {
        const row = body.insertRow();
        row.dataset.t = m.t;
        if (m.type === "problem") row.classList.add("problem");
        row.insertCell().textContent = seconds(m.t - selected.first_us);
        row.insertCell().textContent = m.from === "client" ? "c→t" : "t→c";
        row.insertCell().textContent = "@" + m.offset;
        row.insertCell().textContent = m.text;
        row.addEventListener("click", () => showBytes(m));
    }
    markMessages();
}

function markMessages() {
    const rows = $("messages").querySelectorAll("tbody tr");
    let current = null;
    for (const row of rows) {
        const future = Number(row.dataset.t) > player.position;
        row.classList.toggle("future", future);
        row.classList.remove("current");
        if (!future) current = row;
    }
    if (current) {
        current.classList.add("current");
        const box = $("messages");
        if (current.offsetTop < box.scrollTop || current.offsetTop > box.scrollTop + box.clientHeight - 20) box.scrollTop = current.offsetTop - box.clientHeight / 2;
    }
}

async function showBytes(m) {
    const length = Math.min(m.length || 64, 4096);
    const data = await getJSON(`/api/sessions/${selected.session}/bytes?from=${m.from}&offset=${m.offset}&length=${length}`);
    const lines = [`${m.text}`, `${data.from} stream, bytes ${data.offset}…${data.offset + data.length - 1}` + (m.length > length ? ` (first ${length} of ${m.length})` : ""), ""];
    for (let i = 0; i < data.hex.length; i += 32) {
        const row = data.hex.slice(i, i + 32);
        const pairs = row.match(/../g);
        const text = pairs.map((h) => { const c = parseInt(h, 16); return c >= 32 && c < 127 ? String.fromCharCode(c) : "."; }).join("");
        lines.push((data.offset + i / 2).toString(16).padStart(8, "0") + "  " + pairs.join(" ").padEnd(48) + "  |" + text + "|");
    }
    $("hex").textContent = lines.join("\n");
}

// ---- controls ----------------------------------------------------------------

function updateControls() {
    $("play").textContent = player && player.playing ? "pause" : "play";
    $("mode").textContent = player && player.mode ? (player.mode === "original" ? "noVNC decodes the recorded bytes" : "from a keyframe, repainted as Raw") : "";
}

let lastMessagesRefresh = 0;
function updateClock() {
    if (!player || !timeline) return;
    $("time").textContent = seconds(player.position - timeline.first_us) + " / " + seconds(timeline.last_us - timeline.first_us);
    drawTimeline();
    const now = performance.now();
    if (now - lastMessagesRefresh > 300) {
        lastMessagesRefresh = now;
        refreshMessages(false);
    }
}

// Hooks for tests and for driving the page from the console.
window.viewer = {
    seek: (secondsIn) => player.seek(timeline.first_us + secondsIn * 1e6),
    play: (untilSeconds) => player.play(untilSeconds === undefined ? null : timeline.first_us + untilSeconds * 1e6),
    pause: () => player.pause(),
    speed: (s) => { $("speed").value = String(s); player.setSpeed(s); },
    select: (n) => select(n),
    state: () => player && timeline && timeline.session === player.session.session ? {
        session: player.session.session, position: (player.position - timeline.first_us) / 1e6, playing: player.playing,
        settled: player.settled, mode: player.mode, queued: player.queue.length, next: player.next,
        duration: (timeline.last_us - timeline.first_us) / 1e6, connected: !!(player.rfb && player.rfb._rfbConnectionState === "connected"),
    } : null,
    canvas: () => document.querySelector("#screen canvas"),
};

async function main() {
    try {
        RFB = (await import("/novnc/core/rfb.js")).default;
        encodings = (await import("/novnc/core/encodings.js")).encodings;
    } catch (e) {
        $("status").textContent = "noVNC could not be loaded from /novnc/ (" + e + "): start serve with --novnc DIR";
        return;
    }
    $("play").addEventListener("click", () => { if (player) (player.playing ? player.pause() : player.play()); });
    $("speed").addEventListener("change", () => player && player.setSpeed(Number($("speed").value)));
    $("timeline").addEventListener("click", timelineClick);
    window.addEventListener("resize", () => selected && refreshTimeline());
    await refreshRecording();
    const poll = async () => {
        if (recording.reading || recording.following) {
            await refreshRecording();
            setTimeout(poll, 1000);
        }
    };
    setTimeout(poll, recording.reading ? 200 : 1000);
    document.body.dataset.ready = "1";
}

main();
