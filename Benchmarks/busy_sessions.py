#!/usr/bin/env python3
"""Many busy sessions (issue 18 §4): a VNC-like load on N sessions at once through a proxy.

Used by proxy_bench.py --busy-sessions N[,N...]; also runs on its own, for tests and by hand:

    busy_sessions.py target                      # prints "port P", serves until stdin closes
    busy_sessions.py drive --port P [--raw] [--sessions 3] [--seconds 2] [--seed S]
                                                 # prints one JSON line; exit 1 on any integrity error

All N sessions are opened first (WebSocket upgrades, quiet), then all start at once and the measuring
time begins: how many sessions a proxy can hold is not mixed up with how fast it serves them.
Load, per session (each session its own deterministic seed):
  target -> browser: bursts of 10-200 KiB every 16-100 ms; as in RFB, where a server sends an update
      when the client asks for one, the client asks for the next burst (a 16-byte "R" message) once the
      last one arrived whole, and the target sends it when that request is in and the gap has passed
      (so a proxy that is slower delivers fewer bursts instead of piling them up in socket buffers);
  browser -> target: a 16-byte message every 100-300 ms (pointer/keys), echoed by the target.
Wire format inside the session's byte stream (the proxy may cut it into frames/segments as it likes):
  client -> target:  "V" + u64 seed, then 16-byte messages: "M" + u32 seq + u64 send time (ns) + 3 zero
                     bytes, or "R" + 15 zero bytes (send the next burst)
  target -> client:  "D" + u32 length + length bytes of a 1 MiB pattern at an offset drawn from the seed,
                     or "E" + the 16-byte message echoed.
The client checks every byte: each burst's length and content against the pattern slice the seed gives,
each echo against the message sent (in order). Any difference is an integrity error; a session the proxy
closes before the end is a drop; one that got no whole burst in the last 10 s (drive: 1 s) is stalled. Latency = receive time of the echo - its send time, at the client.

The generator is asyncio (uvloop when installed), several client processes (--busy-workers); its own
CPU seconds are reported next to the proxy's. Only the standard library is needed besides uvloop.
"""

import argparse
import asyncio
import json
import math
import os
import random
import resource
import struct
import sys
import time

KiB = 1024
PATTERN_SIZE = 1 << 20
PATTERN = random.Random(0x5EED).randbytes(PATTERN_SIZE)
BURST_MIN, BURST_MAX = 10 * KiB, 200 * KiB
GAP_MIN, GAP_MAX = 0.016, 0.100
MSG_GAP_MIN, MSG_GAP_MAX = 0.100, 0.300
MSG = struct.Struct(">cIQ3x")        # 16 bytes
REQUEST = b"R" + bytes(15)
HIST_BASE = 1.02                     # latency histogram: buckets 2 % wide, in microseconds
WS_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="       # RFC 6455's sample key; the answer must carry its accept value
WS_ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def new_loop():
    try:
        import uvloop
        return uvloop.new_event_loop(), "uvloop"
    except ImportError:
        return asyncio.new_event_loop(), "asyncio"


def burst_plan(rng):
    """The next burst: (size, pattern offset, gap before the next one). Client and target draw the same."""
    size = rng.randint(BURST_MIN, BURST_MAX)
    off = rng.randrange(0, PATTERN_SIZE - size)
    return size, off, rng.uniform(GAP_MIN, GAP_MAX)


# ---------------------------------------------------------------------------------------------
# Target
# ---------------------------------------------------------------------------------------------

class TargetSession(asyncio.Protocol):
    def __init__(self, stats):
        self.stats = stats
        self.buf = b""
        self.rng = None
        self.task = None
        self.can_write = asyncio.Event()
        self.can_write.set()
        self.requested = asyncio.Event()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.set_write_buffer_limits(high=256 * KiB)
        self.stats["open"] += 1
        self.stats["accepted"] += 1

    def pause_writing(self):
        self.can_write.clear()

    def resume_writing(self):
        self.can_write.set()

    def data_received(self, data):
        buf = self.buf + data if self.buf else data
        i = 0
        if self.rng is None:
            if len(buf) < 9:
                self.buf = buf
                return
            if buf[:1] != b"V":
                self.stats["bad"] += 1
                self.transport.abort()
                return
            self.rng = random.Random(struct.unpack(">Q", buf[1:9])[0])
            self.task = asyncio.get_running_loop().create_task(self.produce())
            i = 9
        end = i + (len(buf) - i) // 16 * 16
        if end > i:
            chunk = buf[i:end]
            out = bytearray()
            for j in range(0, len(chunk), 16):
                tag = chunk[j]
                if tag == 0x4D:                                   # "M": echo it
                    out += b"E"
                    out += chunk[j:j + 16]
                elif tag == 0x52 and chunk[j + 1:j + 16] == REQUEST[1:]:   # "R": the next burst
                    self.requested.set()
                else:
                    self.stats["bad"] += 1
                    self.transport.abort()
                    return
            if out:
                self.transport.write(out)
        self.buf = buf[end:]

    async def produce(self):
        mv = memoryview(PATTERN)
        t = self.transport
        loop = asyncio.get_running_loop()
        try:
            while not t.is_closing():
                size, off, gap = burst_plan(self.rng)
                t.write(b"D" + struct.pack(">I", size))
                t.write(mv[off:off + size])
                sent = loop.time()
                await self.can_write.wait()
                await self.requested.wait()
                self.requested.clear()
                delay = sent + gap - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
        except (ConnectionError, asyncio.CancelledError):
            pass

    def connection_lost(self, exc):
        self.stats["open"] -= 1
        if self.task:
            self.task.cancel()


def run_target():
    raise_fd_limit()
    loop, _ = new_loop()
    asyncio.set_event_loop(loop)
    stats = {"open": 0, "accepted": 0, "bad": 0}

    async def main():
        server = await loop.create_server(lambda: TargetSession(stats), "127.0.0.1", 0, backlog=8192)
        sys.stdout.write("port %d\n" % server.sockets[0].getsockname()[1])
        sys.stdout.flush()
        done = asyncio.Event()

        def on_stdin():
            line = sys.stdin.readline()
            if not line:
                done.set()
            elif line.strip() == "stats":
                sys.stdout.write("conns %d accepted %d bad %d\n" % (stats["open"], stats["accepted"], stats["bad"]))
                sys.stdout.flush()
        loop.add_reader(sys.stdin.fileno(), on_stdin)
        await done.wait()
        server.close()

    loop.run_until_complete(main())
    os._exit(0)


# ---------------------------------------------------------------------------------------------
# Client (load generator)
# ---------------------------------------------------------------------------------------------

class Tally:
    """What one client process measured."""

    def __init__(self):
        self.window = False
        self.bytes = self.bursts = self.echoes = 0
        self.errors = self.drops = 0
        self.first_error = None
        self.hist = {}

    def error(self, what):
        self.errors += 1
        if self.first_error is None:
            self.first_error = what

    def latency(self, ns):
        us = max(ns / 1000.0, 1.0)
        b = int(math.log(us) / math.log(HIST_BASE))
        self.hist[b] = self.hist.get(b, 0) + 1


class ClientSession(asyncio.Protocol):
    def __init__(self, tally, seed, ws, ready):
        self.tally = tally
        self.seed = seed
        self.ws = ws
        self.ready = ready                  # future: set once the session carries data (or failed)
        self.rng = random.Random(seed)      # bursts: the same draws as the target's
        self.msg_rng = random.Random(seed ^ 0xA5A5)
        self.transport = None
        self.upgraded = not ws
        self.head = b""
        self.wleft = b""                    # incomplete WebSocket frame header
        self.frem = 0                       # payload bytes left in the current frame
        self.fctrl = False
        self.rleft = b""                    # incomplete record header
        self.burst_left = 0                 # bytes left in the current burst
        self.burst_pos = 0                  # pattern offset of the next expected byte
        self.sent = []                      # (seq, send ns) not yet echoed, in order
        self.seq = 0
        self.sender = None
        self.dead = False
        self.last_burst = time.monotonic()  # when the last burst arrived whole (or the session started)

    # -- connection --
    def connection_made(self, transport):
        self.transport = transport
        if self.ws:
            transport.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            b"Sec-WebSocket-Key: " + WS_KEY + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        else:
            self.start()

    def start(self):
        """The session is open (upgraded): ready to begin(), which all sessions do at once."""
        if not self.ready.done():
            self.ready.set_result(None)

    def begin(self):
        """Starts the load: the seed makes the target send bursts; the client messages start."""
        if self.dead:
            return
        self.last_burst = time.monotonic()
        self.send(b"V" + struct.pack(">Q", self.seed))
        self.sender = asyncio.get_running_loop().create_task(self.send_messages())

    def send(self, payload):
        if self.ws:
            self.transport.write(bytes((0x82, 0x80 | len(payload))) + b"\0\0\0\0" + payload)
        else:
            self.transport.write(payload)

    async def send_messages(self):
        pc = time.perf_counter_ns
        try:
            while not self.dead:
                await asyncio.sleep(self.msg_rng.uniform(MSG_GAP_MIN, MSG_GAP_MAX))
                if self.dead:
                    break
                t = pc()
                self.seq += 1
                self.sent.append((self.seq, t))
                self.send(MSG.pack(b"M", self.seq, t))
        except asyncio.CancelledError:
            pass

    def fail(self, what):
        if self.dead:
            return
        self.tally.error(what)
        self.close()

    def close(self):
        self.dead = True
        if self.sender:
            self.sender.cancel()
        if self.transport:
            self.transport.abort()

    def connection_lost(self, exc):
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(str(exc) if exc else "closed before the session started"))
        if not self.dead:
            self.dead = True
            if self.sender:
                self.sender.cancel()
            self.tally.drops += 1
            if self.tally.first_error is None:
                self.tally.first_error = "session closed by the proxy (%s)" % (exc or "EOF")

    # -- receiving --
    def data_received(self, data):
        if self.dead:
            return
        if not self.upgraded:
            self.head += data
            if b"\r\n\r\n" not in self.head:
                if len(self.head) > 16384:
                    self.fail("upgrade response too long")
                return
            head, _, rest = self.head.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 101") or WS_ACCEPT not in head:
                err = ConnectionError("upgrade refused: %r" % head.split(b"\r\n")[0][:60])
                if not self.ready.done():
                    self.ready.set_exception(err)
                self.dead = True
                self.transport.abort()
                return
            self.upgraded = True
            self.head = b""
            self.start()
            data = rest
            if not data:
                return
        if self.ws:
            self.frames(data)
        else:
            self.records(memoryview(data))

    def frames(self, data):
        if self.wleft:
            data = self.wleft + data
            self.wleft = b""
        mv = memoryview(data)
        i, n = 0, len(data)
        while i < n:
            if self.frem:
                take = min(self.frem, n - i)
                if not self.fctrl:
                    self.records(mv[i:i + take])
                    if self.dead:
                        return
                self.frem -= take
                i += take
                continue
            if n - i < 2:
                break
            b0, b1 = data[i], data[i + 1]
            ln, h = b1 & 0x7F, 2
            if ln == 126:
                if n - i < 4:
                    break
                ln, h = int.from_bytes(data[i + 2:i + 4], "big"), 4
            elif ln == 127:
                if n - i < 10:
                    break
                ln, h = int.from_bytes(data[i + 2:i + 10], "big"), 10
            if b1 & 0x80:
                self.fail("masked frame from the proxy")
                return
            op = b0 & 0x0F
            if op == 8:
                self.fail("close frame from the proxy")
                return
            if op not in (0, 1, 2, 9, 10):
                self.fail("frame with opcode %d" % op)
                return
            self.fctrl = op >= 8
            self.frem = ln
            i += h
        if i < n:
            self.wleft = bytes(mv[i:])

    def records(self, mv):
        tally = self.tally
        i, n = 0, len(mv)
        while i < n:
            if self.burst_left:
                take = min(self.burst_left, n - i)
                if mv[i:i + take] != PATTERN_MV[self.burst_pos:self.burst_pos + take]:
                    self.fail("burst bytes differ from the pattern (seed %d)" % self.seed)
                    return
                self.burst_left -= take
                self.burst_pos += take
                i += take
                if tally.window:
                    tally.bytes += take
                    if not self.burst_left:
                        tally.bursts += 1
                if not self.burst_left:
                    self.last_burst = time.monotonic()
                    self.send(REQUEST)
                continue
            kind = self.rleft[:1] if self.rleft else bytes(mv[i:i + 1])
            size = 5 if kind == b"D" else 17 if kind == b"E" else 0
            if not size:
                self.fail("unexpected record type %r" % kind)
                return
            take = min(size - len(self.rleft), n - i)
            rec = self.rleft + bytes(mv[i:i + take])
            i += take
            if len(rec) < size:
                self.rleft = rec
                break
            self.rleft = b""
            if kind == b"D":
                want, off, _ = burst_plan(self.rng)
                got = struct.unpack(">I", rec[1:5])[0]
                if got != want:
                    self.fail("burst length %d, expected %d (seed %d)" % (got, want, self.seed))
                    return
                self.burst_left, self.burst_pos = want, off
            else:
                tag, seq, t = MSG.unpack(rec[1:17])
                if tag != b"M" or rec[14:17] != b"\0\0\0" or not self.sent or self.sent[0] != (seq, t):
                    self.fail("echo differs from the message sent (seq %d)" % seq)
                    return
                self.sent.pop(0)
                if tally.window:
                    tally.echoes += 1
                    tally.latency(time.perf_counter_ns() - t)


PATTERN_MV = memoryview(PATTERN)


async def open_sessions(loop, port, ws, seeds, tally, timeout, window=200):
    """Opens one session per seed, `window` connection attempts at a time; returns (sessions, failures,
    first failure)."""
    sem = asyncio.Semaphore(window)
    sessions, failures = [], []
    deadline = loop.time() + timeout

    async def one(seed):
        async with sem:
            left = deadline - loop.time()
            if left <= 0:
                failures.append("not opened within %.0f s" % timeout)
                return
            ready = loop.create_future()
            try:
                _, proto = await asyncio.wait_for(
                    loop.create_connection(lambda: ClientSession(tally, seed, ws, ready), "127.0.0.1", port), left)
                await asyncio.wait_for(ready, max(0.1, deadline - loop.time()))
                sessions.append(proto)
            except asyncio.TimeoutError:
                failures.append("not opened within %.0f s" % timeout)
            except (OSError, ConnectionError) as e:
                failures.append(str(e) or type(e).__name__)

    await asyncio.gather(*(one(s) for s in seeds))
    return sessions, len(failures), (failures[0] if failures else None)


def merge_hist(hists):
    out = {}
    for h in hists:
        for k, v in h.items():
            out[int(k)] = out.get(int(k), 0) + v
    return out


def percentile(hist, q):
    """The q-quantile (0..1) of a latency histogram, in microseconds (upper edge of its bucket)."""
    total = sum(hist.values())
    if not total:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for k in sorted(hist):
        seen += hist[k]
        if seen >= rank:
            return HIST_BASE ** (k + 1)
    return None


def run_client(port, ws, seeds, seconds, open_timeout, control, stall_after=10.0):
    """One generator process. control=True: print 'ready ...', wait for 'go' on stdin, measure for
    `seconds`, print the JSON result. control=False: measure at once (drive)."""
    raise_fd_limit()
    loop, loop_name = new_loop()
    asyncio.set_event_loop(loop)
    tally = Tally()

    async def main():
        t0 = time.monotonic()
        sessions, failed, why = await open_sessions(loop, port, ws, seeds, tally, open_timeout)
        open_s = time.monotonic() - t0
        if control:
            sys.stdout.write("ready %d %d %s\n" % (len(sessions), failed, json.dumps(why)))
            sys.stdout.flush()
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if line.strip() != "go":
                return None
        for s in sessions:
            s.begin()
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        tally.window = True
        w0 = time.monotonic()
        await asyncio.sleep(seconds)
        tally.window = False
        wall = time.monotonic() - w0
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        alive = sum(1 for s in sessions if not s.dead)
        now = time.monotonic()
        stalled = sum(1 for s in sessions if not s.dead and now - s.last_burst > stall_after)
        if stalled and tally.first_error is None:
            tally.first_error = "%d session(s) got no whole burst in the last %g s" % (stalled, stall_after)
        for s in sessions:
            s.close()
        await asyncio.sleep(0)
        return {"loop": loop_name, "opened": len(sessions), "open_failed": failed, "open_failure": why,
                "open_seconds": open_s, "seconds": wall, "bytes": tally.bytes, "bursts": tally.bursts,
                "echoes": tally.echoes, "errors": tally.errors, "drops": tally.drops,
                "first_error": tally.first_error, "alive": alive, "stalled": stalled, "hist": tally.hist,
                "cpu": (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)}

    result = loop.run_until_complete(main())
    if result is not None:
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return result


def drive_main(argv):
    ap = argparse.ArgumentParser(prog="busy_sessions.py drive")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--raw", action="store_true", help="raw TCP (a socat relay, or the target itself)")
    ap.add_argument("--sessions", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    seeds = [a.seed * 1_000_003 + i for i in range(a.sessions)]
    r = run_client(a.port, not a.raw, seeds, a.seconds, 20.0, control=False, stall_after=min(1.0, a.seconds / 2))
    ok = (r["opened"] == a.sessions and r["errors"] == 0 and r["drops"] == 0 and r["stalled"] == 0
          and r["bursts"] > 0 and r["echoes"] > 0)
    return 0 if ok else 1


# ---------------------------------------------------------------------------------------------
# The run inside proxy_bench.py: every proxy, every N.
# ---------------------------------------------------------------------------------------------

def _worker_argv(port, ws, seeds, seconds, open_timeout):
    return [sys.executable, os.path.abspath(__file__), "_client", str(port), "1" if ws else "0",
            ",".join(map(str, seeds)), str(seconds), str(open_timeout)]


class BusyTarget:
    """The target process (this file's `target` command), driven like proxy_bench's Target."""

    def __init__(self, pb):
        import subprocess
        self.proc = pb.start_process([sys.executable, os.path.abspath(__file__), "target"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("port "):
            raise pb.BenchError("busy target did not start")
        self.port = int(line.split()[1])
        self.pb = pb

    def stats(self):
        self.proc.stdin.write(b"stats\n")
        self.proc.stdin.flush()
        f = self.proc.stdout.readline().decode().split()
        return int(f[1]), int(f[3])

    def wait_conns(self, want, timeout):
        deadline = time.monotonic() + timeout
        while self.stats()[0] > want and time.monotonic() < deadline:
            time.sleep(0.1)

    def stop(self):
        self.pb.stop_process(self.proc, grace=3.0)


def mem_available_mib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    return 0


def busy_run(pb, label, proxy, target, n, seconds, workers, log):
    """One proxy at one N. pb: the proxy_bench module (process and /proc helpers). Returns a dict."""
    import subprocess
    open_timeout = 30.0 + n / 50.0
    per = [list(range(w, n, workers)) for w in range(workers)]
    procs = []
    for w, idx in enumerate(per):
        if not idx:
            continue
        seeds = [n * 7919 + i for i in idx]
        procs.append(pb.start_process(_worker_argv(proxy.port, proxy.ws, seeds, seconds, open_timeout),
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None))
    res = {"n": n}
    try:
        # Opening: watch the machine's memory (the forking proxies take some per session) and the proxy.
        ready = {}
        deadline = time.monotonic() + open_timeout + 15
        low_mem = None
        import selectors
        sel = selectors.DefaultSelector()
        for p in procs:
            sel.register(p.stdout, selectors.EVENT_READ, p)
        while len(ready) < len(procs) and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.25):
                line = key.fileobj.readline().decode()
                sel.unregister(key.fileobj)
                if not line.startswith("ready "):
                    ready[key.data] = (0, len(per[procs.index(key.data)]), "generator failed: %r" % line[:80])
                    continue
                _, opened, failed, why = line.split(" ", 3)
                ready[key.data] = (int(opened), int(failed), json.loads(why))
            avail = mem_available_mib()
            if avail < 4096 and low_mem is None:   # the machine is shared: leave the others room
                low_mem = "machine memory low (MemAvailable %d MiB) while opening: proxy stopped" % avail
                proxy.stop()
        sel.close()
        opened = sum(r[0] for r in ready.values())
        whys = [r[2] for r in ready.values() if r[2]]
        res["opened"] = opened
        res["open_failure"] = low_mem or (whys[0] if whys else None)
        if len(ready) < len(procs):
            res["open_failure"] = "generator did not report within %.0f s" % (open_timeout + 15)
        if not proxy.alive():
            res["open_failure"] = res["open_failure"] or ("proxy exited: " + pb.log_tail(proxy.proc))
        if opened < n or not proxy.alive():
            for p in procs:
                try:
                    p.stdin.write(b"stop\n")
                    p.stdin.flush()
                except OSError:
                    pass
            return res
        # Measuring window.
        gen_cpu0 = pb.tree_cpu(target.proc.pid)
        cpu0 = pb.tree_cpu(proxy.pid)
        peak = pb.tree_memory(proxy.pid) if proxy.pid else (0, 0, 0)
        t0 = time.monotonic()
        for p in procs:
            p.stdin.write(b"go\n")
            p.stdin.flush()
        while time.monotonic() - t0 < seconds:
            time.sleep(min(1.0, max(0.05, seconds - (time.monotonic() - t0))))
            if proxy.pid and time.monotonic() - t0 < seconds - 0.2:
                m = pb.tree_memory(proxy.pid)
                if m[0] > peak[0]:
                    peak = m
        cpu = pb.tree_cpu(proxy.pid) - cpu0 if proxy.pid else 0.0
        target_cpu = pb.tree_cpu(target.proc.pid) - gen_cpu0
        results = []
        for p in procs:
            line = p.stdout.readline().decode()
            try:
                results.append(json.loads(line))
            except ValueError:
                res["open_failure"] = "generator gave no result: %r" % line[:80]
                return res
        wall = max(r["seconds"] for r in results)
        hist = merge_hist(r["hist"] for r in results)
        res.update({
            "mbps": sum(r["bytes"] for r in results) / wall / 1e6,
            "bursts": sum(r["bursts"] for r in results),
            "echoes": sum(r["echoes"] for r in results),
            "p50": percentile(hist, 0.50), "p99": percentile(hist, 0.99), "p999": percentile(hist, 0.999),
            "errors": sum(r["errors"] for r in results), "drops": sum(r["drops"] for r in results),
            "stalled": sum(r["stalled"] for r in results),
            "first_error": next((r["first_error"] for r in results if r["first_error"]), None),
            "cpu": cpu, "rss_mib": peak[0] / 1024.0, "pss_mib": peak[1] / 1024.0, "procs": peak[2],
            "gen_cpu": sum(r["cpu"] for r in results), "target_cpu": target_cpu, "seconds": wall,
            "loop": results[0]["loop"],
        })
        return res
    finally:
        for p in procs:
            pb.stop_process(p, grace=3.0)


def fmt_us(v):
    if v is None:
        return "-"
    return "%.0f us" % v if v < 10000 else "%.1f ms" % (v / 1000.0)


def run_busy(pb, args, kinds, tmp, log):
    """proxy_bench.py's part [6]: every N in --busy-sessions, for direct (the generator's ceiling),
    socat, the Python websockify, ours with 1 and 2 event loops. Returns the rows for the report."""
    counts = [int(x) for x in str(args.busy_sessions).split(",") if x.strip()]
    seconds = args.busy_seconds
    workers = args.busy_workers
    raise_fd_limit()
    log("\n[6] busy sessions: VNC-like load (bursts of 10-200 KiB every 16-100 ms target->browser, a 16-byte "
        "message every 100-300 ms browser->target, echoed), %g s per run, %d generator processes (%s)"
        % (seconds, workers, new_loop()[1]))
    log("  socat: one process forking a child per connection (socat's fork option, as a multi-client relay is "
        "run; one socat per session would need N listening ports and makes the same N processes)")
    variants = [("direct", None, [])]
    if "socat" in kinds:
        variants.append(("socat", "socat", []))
    if "python" in kinds:
        variants.append(("python", "python", []))
    if "ours" in kinds:
        variants += [("ours 1 loop", "ours", ["--threads", "1"]), ("ours 2 loops", "ours", ["--threads", "2"])]
    if "before" in kinds:
        variants.append(("before", "before", []))
    target = BusyTarget(pb)
    stopped = {}     # label -> (N, why): not run at larger N
    table = {}
    try:
        for n in counts:
            for label, kind, extra in variants:
                if label in stopped:
                    log("  %-13s N=%-5d skipped: stopped at N=%d" % (label, n, stopped[label][0]))
                    continue
                load = os.getloadavg()
                try:
                    proxy = pb.Direct(target) if kind is None else pb.Proxy(kind, target.port, tmp, extra=extra)
                except pb.BenchError as e:
                    stopped[label] = (n, str(e))
                    log("  %-13s N=%-5d did not start: %s" % (label, n, e))
                    continue
                try:
                    r = busy_run(pb, label, proxy, target, n, seconds, workers, log)
                finally:
                    proxy.stop()
                    target.wait_conns(0, 20)
                r["load"] = (load[0] + os.getloadavg()[0]) / 2
                table[(label, n)] = r
                if "mbps" not in r:
                    stopped[label] = (n, r.get("open_failure"))
                    log("  %-13s N=%-5d STOPS: %d of %d sessions opened; %s"
                        % (label, n, r.get("opened", 0), n, r.get("open_failure")))
                    continue
                bad = r["errors"] + r["drops"] + r["stalled"]
                log("  %-13s N=%-5d %8.1f MB/s  RTT p50 %8s p99 %8s p999 %8s  proxy CPU %5.1f s (%4.0f%%) "
                    "peak RSS %7.1f MiB (PSS %7.1f) in %d proc  generator CPU %5.1f s + target %5.1f s  load %.1f%s"
                    % (label, n, r["mbps"], fmt_us(r["p50"]), fmt_us(r["p99"]), fmt_us(r["p999"]), r["cpu"],
                       100 * r["cpu"] / r["seconds"], r["rss_mib"], r["pss_mib"], r["procs"], r["gen_cpu"], r["target_cpu"],
                       r["load"], "" if not bad else "  ** %d integrity errors, %d dropped, %d stalled sessions: %s **"
                       % (r["errors"], r["drops"], r["stalled"], r["first_error"])))
    finally:
        target.stop()
    # Ratios against socat and the Python websockify at each N.
    log("\n  busy sessions, ratios (MB/s: higher is better; p99, proxy CPU and PSS: lower is better;"
        " direct has no proxy, so only MB/s and p99)")
    for n in counts:
        for label in [v[0] for v in variants if v[1] == "ours"]:
            r = table.get((label, n))
            if not r or "mbps" not in r:
                continue
            parts = []
            for other in ("socat", "python", "direct"):
                o = table.get((other, n))
                if o and "mbps" in o and o["mbps"] > 0:
                    p99 = ("%.2fx" % (r["p99"] / o["p99"])) if r["p99"] and o["p99"] else "-"
                    cpu = ("%.2fx" % (r["cpu"] / o["cpu"])) if o.get("cpu") else "-"
                    pss = ("%.2fx" % (r["pss_mib"] / o["pss_mib"])) if o.get("pss_mib") else "-"
                    parts.append("%.2fx %s MB/s, p99 %s, CPU %s, PSS %s" % (r["mbps"] / o["mbps"], other, p99, cpu, pss))
                elif other in [v[0] for v in variants]:
                    parts.append("%s: %s" % (other, "stopped at N=%d" % stopped[other][0] if other in stopped
                                             else "n/a"))
            log("  %-13s N=%-5d %s" % (label, n, "; ".join(parts)))
    for label, (n, why) in stopped.items():
        log("  %s stops at N=%d: %s" % (label, n, why))
    return table


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "target":
        run_target()
    elif len(sys.argv) > 1 and sys.argv[1] == "drive":
        sys.exit(drive_main(sys.argv[2:]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_client":
        port, ws, seeds, seconds, open_timeout = sys.argv[2:7]
        # A session with no whole burst for 10 s (or half of a shorter run) counts as stalled.
        run_client(int(port), ws == "1", [int(s) for s in seeds.split(",")], float(seconds), float(open_timeout),
                   control=True, stall_after=min(10.0, float(seconds) / 2))
        os._exit(0)
    else:
        print(__doc__)
        sys.exit(2)
