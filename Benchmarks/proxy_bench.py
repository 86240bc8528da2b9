#!/usr/bin/env python3
"""Proxy benchmark: websockify for Swift ("ours") next to Python websockify 0.13 and a socat relay.

Prints figures and ratios measured in the same run; asserts nothing (each target gets PASS/MISS).

    proxy_bench.py [--megabytes N] [--only ours,python,socat] [--sessions N] [--max-sessions N]
                   [--record-megabytes N] [--repeat R] [--rtt-repeat R] [--placement both|free|pinned]
                   [--skip-idle] [--skip-record] [--baseline BIN]

ours:   $WEBSOCKIFY_BIN (scripts/bench-proxy builds it), started as  BIN 127.0.0.1:L 127.0.0.1:T
python: `websockify` on PATH (PyPI websockify 0.13; $PY_WEBSOCKIFY overrides), same command line
before: --baseline BIN, another build of ours (an earlier commit), same command line as ours
socat:  socat -b 1048576 TCP-LISTEN:L,reuseaddr,fork TCP:127.0.0.1:T  (clients speak raw TCP)
direct: no proxy at all, the client talks to the target: the ceiling of this Python harness

Measured, for each proxy:
  1. target->browser throughput: the target writes N MiB (random) in 64 KiB chunks; the client
     (raw socket, does the HTTP upgrade and parses frames itself) counts payload bytes until all
     arrived. MB/s, and the proxy's CPU seconds per GB (process tree, from /proc).
  2. browser->target throughput: the client sends N MiB as pre-built masked 64 KiB binary frames
     (all-zero mask key: legal, no per-byte work in the client, the proxy still unmasks every
     byte); the target counts them and answers with one byte when all arrived.
  3. round trip of 16-byte messages through an echo target: 200 warm-up, 2,000 timed; p50, p99.
     1-2 run R times (--repeat, default 5), 3 (cheap, and the noisiest) --rtt-repeat times
     (default 10); the proxies taken in turn, the best run kept.
     Each run is made twice: unpinned, and with the proxy's process tree pinned to one CPU (the
     client and target stay on all CPUs), the same for every proxy. On a 2-CPU machine where the
     scheduler puts three busy processes decides much of a round trip (ours: 63 or 81 us from one
     connection to the next, unpinned), so ratio targets are judged on the pinned runs and the
     unpinned ones are printed next to them. --placement picks one of the two.
  4. idle sessions on a fresh proxy: open N (--sessions, default 2000) WebSocket sessions, each with
     its target connection; (RSS of the proxy's process tree - before) / sessions, PSS likewise;
     then every session must echo a message ("held"). Ours then goes on to 9,000 (--max-sessions).
  5. recording: target->browser, 256 MiB random and 256 MiB zero payload, with --record=FILE next to
     the same proxy without it (ours and python websockify; record files in a temp dir on /tmp,
     deleted afterwards), with the record files' size per payload byte. The proxies take turns, R
     runs each (best kept), a fresh proxy and record file per run; unpinned (the recorder needs a
     CPU of its own). Each round also runs the floor ($RECORD_BENCH_BIN floor, scripts/bench-proxy
     builds it): the cheapest recorder, the same bytes in the same blocks with the same CRC to the
     same directory; recording's extra CPU per GB (on - off, same round) is printed against it.
     With --baseline, the baseline build ("before") is measured in the same rounds and gets the
     same rows against the same floors (the verdict stays ours): two recorders compared in one run.

Only the standard library is used. The target runs in a separate process (this file with
--_target-server), so client and target file descriptors are split; RLIMIT_NOFILE is raised to
the hard limit, and the proxies inherit it. Everything listens on 127.0.0.1 on ports chosen at
run time; every process started (each in its own process group) is stopped at the end, also on
Ctrl-C or SIGTERM.
"""

import argparse
import base64
import hashlib
import os
import resource
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

MiB = 1 << 20
BASELINE_BIN = None   # --baseline: measured as "before"
CHUNK = 64 * 1024            # target write size, client frame size
TRANSFER_LIMIT = 90.0        # seconds: a throughput run that takes longer is abandoned
PATTERN_SIZE = 8 * MiB       # random pattern (larger than any deflate window, so incompressible)
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# ---------------------------------------------------------------------------------------------
# Target server (separate process).
#
# One listening port. Each accepted connection first sends a mode byte (through the proxy):
#   b"S" + u64 count + pattern byte (b"r" random, b"z" zero): target sends count bytes in 64 KiB
#        chunks, then waits for EOF.
#   b"K" + u64 count: target reads count bytes, answers b"D", waits for EOF.
#   b"E": echo everything from then on.
# Connections that send nothing stay open (idle sessions). Control over stdin/stdout:
#   "stats\n" -> "conns <open> accepted <total>\n"; EOF on stdin -> exit.
# ---------------------------------------------------------------------------------------------


def target_server():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    rnd = os.urandom(PATTERN_SIZE)
    zero = bytes(PATTERN_SIZE)
    lock = threading.Lock()
    counters = {"open": 0, "accepted": 0}

    def dec():
        with lock:
            counters["open"] -= 1

    def source(sock, count, pattern):
        try:
            sock.setblocking(True)
            sock.settimeout(120)
            mv = memoryview(rnd if pattern == b"r" else zero)
            off = 0
            left = count
            while left > 0:
                n = min(CHUNK, left)
                if off + n > PATTERN_SIZE:
                    off = 0
                sock.sendall(mv[off:off + n])
                off += n
                left -= n
            while sock.recv(65536):
                pass
        except OSError:
            pass
        finally:
            sock.close()
            dec()

    def sink(sock, count, already):
        try:
            sock.setblocking(True)
            sock.settimeout(120)
            buf = bytearray(MiB)
            got = already
            while got < count:
                k = sock.recv_into(buf)
                if k == 0:
                    break
                got += k
            if got >= count:
                sock.sendall(b"D")
            while sock.recv(65536):
                pass
        except OSError:
            pass
        finally:
            sock.close()
            dec()

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4096)
    lsock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ, None)
    # per-connection state: [mode, header bytes]
    state = {}

    def control():
        out = sys.stdout
        for line in sys.stdin:
            if line.strip() == "stats":
                with lock:
                    out.write("conns %d accepted %d\n" % (counters["open"], counters["accepted"]))
                out.flush()
        os._exit(0)

    sys.stdout.write("port %d\n" % lsock.getsockname()[1])
    sys.stdout.flush()
    threading.Thread(target=control, daemon=True).start()

    def close_conn(s):
        sel.unregister(s)
        state.pop(s, None)
        s.close()
        dec()

    while True:
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            if s is lsock:
                while True:
                    try:
                        c, _ = lsock.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break
                    c.setblocking(False)
                    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    with lock:
                        counters["open"] += 1
                        counters["accepted"] += 1
                    state[c] = [None, b""]
                    sel.register(c, selectors.EVENT_READ, None)
                continue
            st = state[s]
            try:
                data = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                close_conn(s)
                continue
            if st[0] == b"E":
                try:
                    s.setblocking(True)
                    s.sendall(data)
                    s.setblocking(False)
                except OSError:
                    close_conn(s)
                continue
            hdr = st[1] + data
            mode = hdr[:1]
            if mode == b"E":
                st[0] = b"E"
                st[1] = b""
                if len(hdr) > 1:
                    try:
                        s.setblocking(True)
                        s.sendall(hdr[1:])
                        s.setblocking(False)
                    except OSError:
                        close_conn(s)
                continue
            need = 10 if mode == b"S" else 9 if mode == b"K" else None
            if need is None:
                close_conn(s)
                continue
            if len(hdr) < need:
                st[1] = hdr
                continue
            count = struct.unpack(">Q", hdr[1:9])[0]
            sel.unregister(s)
            state.pop(s, None)
            if mode == b"S":
                threading.Thread(target=source, args=(s, count, hdr[9:10]), daemon=True).start()
            else:
                threading.Thread(target=sink, args=(s, count, len(hdr) - 9), daemon=True).start()


# ---------------------------------------------------------------------------------------------
# Process bookkeeping: everything we start is stopped at the end, also on Ctrl-C / SIGTERM.
# ---------------------------------------------------------------------------------------------

STARTED = []   # Popen objects, each leader of its own session / process group


def start_process(argv, log_path=None, **kw):
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL
    p = subprocess.Popen(argv, stdout=kw.pop("stdout", out), stderr=kw.pop("stderr", out),
                         stdin=kw.pop("stdin", subprocess.DEVNULL), start_new_session=True, **kw)
    p.log_path = log_path
    STARTED.append(p)
    return p


def stop_process(p, grace=5.0):
    """SIGTERM the process group we started (the process and the children it forked), then SIGKILL."""
    if p not in STARTED:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(p.pid, signal.SIGKILL)   # stragglers (forked children) in the group
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    STARTED.remove(p)


def stop_all():
    for p in list(reversed(STARTED)):
        stop_process(p, grace=3.0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def log_tail(p, n=8):
    try:
        with open(p.log_path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return " | ".join(lines[-n:])
    except (OSError, TypeError):
        return ""


# ---------------------------------------------------------------------------------------------
# /proc helpers: RSS / PSS / CPU time of a process tree.
# ---------------------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def descendants(root):
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [root], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def status_kib(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_memory(root):
    pids = descendants(root)
    return (sum(status_kib(p, "VmRSS") for p in pids), sum(pss_kib(p) for p in pids), len(pids))


def tree_cpu(root):
    """CPU seconds of the tree: every live thread's run time (/proc/PID/task/TID/schedstat, in ns),
    plus the children already reaped (cutime + cstime, in clock ticks: socat and python websockify
    fork one child per connection)."""
    if root is None:
        return 0.0
    ns = ticks = 0
    for pid in descendants(root):
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        ticks += int(fields[13]) + int(fields[14])   # cutime cstime
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    ns += int(f.read().split()[0])
                continue
            except (OSError, ValueError, IndexError):
                pass
            try:   # no schedstat (a kernel without it): the thread's utime + stime, in ticks
                with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                    tst = f.read()
                tf = tst[tst.rindex(")") + 2:].split()
                ticks += int(tf[11]) + int(tf[12])
            except (OSError, ValueError, IndexError):
                pass
    return ns / 1e9 + ticks / CLK_TCK


# ---------------------------------------------------------------------------------------------
# CPU placement. On a small machine the Linux scheduler's choice of CPU for the proxy, the client
# and the target (all busy in turn on a round trip) moves the figures by up to half between runs.
# "pinned" confines the proxy's process tree (every thread; children it forks inherit it) to one
# CPU and leaves the client and target on all CPUs: the same for every proxy.
# ---------------------------------------------------------------------------------------------

ALL_CPUS = sorted(os.sched_getaffinity(0))
PIN_CPU = ALL_CPUS[-1]


def place(pid, placement):
    """Sets the CPU affinity of every thread of pid's process tree for placement "free" or "pinned"."""
    if pid is None:
        return
    cpus = {PIN_CPU} if placement == "pinned" else set(ALL_CPUS)
    for p in descendants(pid):
        try:
            tids = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for tid in tids:
            try:
                os.sched_setaffinity(int(tid), cpus)
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------
# Client side: raw sockets, our own HTTP upgrade and frame parser.
# ---------------------------------------------------------------------------------------------

class BenchError(Exception):
    pass


def ws_frame(payload, opcode=2):
    """A masked client frame with the all-zero mask key (legal; payload bytes go out unchanged)."""
    n = len(payload)
    if n < 126:
        hdr = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        hdr = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        hdr = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return hdr + b"\0\0\0\0" + payload


def upgrade_request(port):
    key = base64.b64encode(os.urandom(16))
    req = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (port, key))
    accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
    return req, accept


def check_upgrade_response(head, accept):
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1.1 101"):
        raise BenchError("upgrade refused: %r" % lines[0][:80])
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"sec-websocket-accept" and v.strip() != accept:
            raise BenchError("bad Sec-WebSocket-Accept")


class Conn:
    """A client connection: WebSocket (ws=True) or raw TCP (ws=False, for socat)."""

    def __init__(self, port, ws, timeout=30.0):
        self.ws = ws
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray(MiB)
        self.mv = memoryview(self.buf)
        self.lo = self.hi = 0      # unparsed bytes: buf[lo:hi]
        self.rem = 0               # payload bytes left in the current frame
        self.ctrl = False          # current frame is a control frame (not counted)
        self.deadline = None       # monotonic time after which reading gives up
        if ws:
            req, accept = upgrade_request(port)
            self.sock.sendall(req)
            head = b""
            while b"\r\n\r\n" not in head:
                d = self.sock.recv(4096)
                if not d:
                    raise BenchError("connection closed during upgrade")
                head += d
                if len(head) > 65536:
                    raise BenchError("upgrade response too long")
            head, _, rest = head.partition(b"\r\n\r\n")
            check_upgrade_response(head, accept)
            self.buf[:len(rest)] = rest
            self.hi = len(rest)

    def send(self, payload):
        self.sock.sendall(ws_frame(payload) if self.ws else payload)

    def _fill(self):
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise BenchError("abandoned: slower than %d s per run" % TRANSFER_LIMIT)
        if self.lo == self.hi:
            self.lo = self.hi = 0
        elif self.hi == len(self.buf):
            n = self.hi - self.lo
            self.buf[:n] = self.buf[self.lo:self.hi]
            self.lo, self.hi = 0, n
        k = self.sock.recv_into(self.mv[self.hi:])
        if k == 0:
            raise BenchError("connection closed by proxy")
        self.hi += k

    def _header(self):
        """Parse a frame header at lo if complete; returns False if more bytes are needed."""
        b, i, avail = self.buf, self.lo, self.hi - self.lo
        if avail < 2:
            return False
        b0, b1 = b[i], b[i + 1]
        n, h = b1 & 0x7F, 2
        if n == 126:
            if avail < 4:
                return False
            n, h = int.from_bytes(b[i + 2:i + 4], "big"), 4
        elif n == 127:
            if avail < 10:
                return False
            n, h = int.from_bytes(b[i + 2:i + 10], "big"), 10
        if b1 & 0x80:
            h += 4  # servers must not mask; skip a key if one is there (payload stays unread)
        if avail < h:
            return False
        op = b0 & 0x0F
        if op == 8:
            raise BenchError("close frame from proxy")
        self.lo += h
        self.rem = n
        self.ctrl = op >= 8
        return True

    def read(self, n, collect=False):
        """Read n payload bytes (frames parsed, control frames skipped); returns them if collect."""
        out = bytearray() if collect else None
        got = 0
        while got < n:
            if self.lo == self.hi:
                self._fill()
            if not self.ws:
                take = min(n - got, self.hi - self.lo)
            elif self.rem == 0:
                if not self._header():
                    self._fill()
                continue
            elif self.ctrl:
                take = min(self.rem, self.hi - self.lo)
                self.rem -= take
                self.lo += take
                continue
            else:
                take = min(self.rem, self.hi - self.lo, n - got)
                self.rem -= take
            if collect:
                out += self.mv[self.lo:self.lo + take]
            self.lo += take
            got += take
        return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# Proxies under test
# ---------------------------------------------------------------------------------------------

class Proxy:
    def __init__(self, kind, target_port, tmp, record=None, extra=()):
        self.kind = kind
        self.ws = kind != "socat"
        self.port = free_port()
        lsn, tgt = "127.0.0.1:%d" % self.port, "127.0.0.1:%d" % target_port
        if kind == "ours":
            argv = [os.environ["WEBSOCKIFY_BIN"]]
        elif kind == "before":
            argv = [BASELINE_BIN]
        elif kind == "python":
            argv = [os.environ.get("PY_WEBSOCKIFY") or shutil.which("websockify") or "websockify"]
        else:
            argv = ["socat", "-b", "1048576", "TCP-LISTEN:%d,reuseaddr,fork,backlog=4096" % self.port,
                    "TCP:" + tgt]
        if kind != "socat":
            if record:
                argv.append("--record=" + record)
            argv += list(extra) + [lsn, tgt]
        self.argv = argv
        log = os.path.join(tmp, "%s-%d.log" % (kind, self.port))
        self.proc = start_process(argv, log)
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                tail = log_tail(self.proc)
                stop_process(self.proc)
                raise BenchError("%s exited with %s at start: %s" % (kind, self.proc.returncode, tail))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise BenchError("%s did not listen within 20 s" % kind)
                time.sleep(0.05)
        time.sleep(0.2)   # let the probe connection go away

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        stop_process(self.proc)


class Direct:
    """No proxy: the client talks to the target itself (the harness's own ceiling)."""
    kind, ws, pid = "direct", False, None

    def __init__(self, target):
        self.port = target.port

    def alive(self):
        return True

    def stop(self):
        pass


class Target:
    def __init__(self):
        self.proc = start_process([sys.executable, os.path.abspath(__file__), "--_target-server"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=None)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("port "):
            raise BenchError("target server did not start")
        self.port = int(line.split()[1])

    def stats(self):
        self.proc.stdin.write(b"stats\n")
        self.proc.stdin.flush()
        f = self.proc.stdout.readline().decode().split()
        return int(f[1]), int(f[3])

    def wait_conns(self, want, timeout, cmp="le"):
        deadline = time.monotonic() + timeout
        while True:
            n = self.stats()[0]
            if (n <= want) if cmp == "le" else (n >= want):
                return n
            if time.monotonic() > deadline:
                return n
            time.sleep(0.1)


# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------

def t2b(proxy, nbytes, pattern=b"r"):
    """Target -> browser: returns (MB/s, proxy CPU seconds)."""
    c = Conn(proxy.port, proxy.ws, timeout=60)
    try:
        cpu0 = tree_cpu(proxy.pid)
        t0 = time.perf_counter()
        c.deadline = time.monotonic() + TRANSFER_LIMIT
        c.send(b"S" + struct.pack(">Q", nbytes) + pattern)
        c.read(nbytes)
        dt = time.perf_counter() - t0
        cpu = tree_cpu(proxy.pid) - cpu0
    finally:
        c.close()
    return nbytes / dt / 1e6, cpu


_B2T_BLOB = {}


def b2t(proxy, nbytes):
    """Browser -> target: pre-built frames of 64 KiB (zero mask key); returns (MB/s, CPU s)."""
    key = proxy.ws
    if key not in _B2T_BLOB:
        payload = os.urandom(CHUNK)
        unit = ws_frame(payload) if proxy.ws else payload
        _B2T_BLOB[key] = unit * 16           # 1 MiB of payload per sendall
    blob = _B2T_BLOB[key]
    c = Conn(proxy.port, proxy.ws, timeout=60)
    try:
        cpu0 = tree_cpu(proxy.pid)
        t0 = time.perf_counter()
        c.send(b"K" + struct.pack(">Q", nbytes))
        left = nbytes
        c.deadline = time.monotonic() + TRANSFER_LIMIT
        while left >= 16 * CHUNK:
            c.sock.sendall(blob)
            left -= 16 * CHUNK
            if time.monotonic() > c.deadline:
                raise BenchError("abandoned: slower than %d s per run" % TRANSFER_LIMIT)
        while left > 0:
            n = min(CHUNK, left)
            c.send(os.urandom(n))
            left -= n
        if bytes(c.read(1, collect=True)) != b"D":
            raise BenchError("sink did not confirm")
        dt = time.perf_counter() - t0
        cpu = tree_cpu(proxy.pid) - cpu0
    finally:
        c.close()
    return nbytes / dt / 1e6, cpu


def rtt(proxy, rounds=2000, warmup=200):
    c = Conn(proxy.port, proxy.ws, timeout=10)
    try:
        c.send(b"E")
        msg = os.urandom(16)
        frame = ws_frame(msg) if proxy.ws else msg
        samples = []
        pc = time.perf_counter_ns
        for i in range(warmup + rounds):
            t0 = pc()
            c.sock.sendall(frame)
            got = c.read(16, collect=True)
            t1 = pc()
            if got != msg:
                raise BenchError("echo mismatch")
            if i >= warmup:
                samples.append((t1 - t0) / 1000.0)
    finally:
        c.close()
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def open_sessions(proxy, n, socks, deadline, window=64):
    """Open up to n more sessions (WebSocket upgrades, or TCP connects for socat) `window` at a time.
    Appends open sockets to socks; returns number of failures."""
    sel = selectors.DefaultSelector()
    pending = {}   # sock -> [phase, accept, buffer]
    started = failures = consecutive_fail = 0
    req_cache = {}
    while (started < n or pending) and time.monotonic() < deadline:
        while started < n and len(pending) < window and consecutive_fail < 200:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", proxy.port))
            started += 1
            if err not in (0, 115):   # EINPROGRESS
                s.close()
                failures += 1
                consecutive_fail += 1
                continue
            pending[s] = ["connect", None, b""]
            sel.register(s, selectors.EVENT_WRITE)
        if not pending:
            break
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            st = pending[s]
            try:
                if st[0] == "connect":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, os.strerror(err))
                    if not proxy.ws:
                        sel.unregister(s)
                        del pending[s]
                        socks.append(s)
                        consecutive_fail = 0
                        continue
                    req, accept = upgrade_request(proxy.port)
                    s.send(req)   # small: fits in an empty send buffer
                    st[0], st[1] = "upgrade", accept
                    sel.modify(s, selectors.EVENT_READ)
                    continue
                d = s.recv(4096)
                if not d:
                    raise OSError("closed during upgrade")
                st[2] += d
                if b"\r\n\r\n" in st[2]:
                    check_upgrade_response(st[2].partition(b"\r\n\r\n")[0], st[1])
                    sel.unregister(s)
                    del pending[s]
                    socks.append(s)
                    consecutive_fail = 0
            except (OSError, BenchError):
                sel.unregister(s)
                del pending[s]
                s.close()
                failures += 1
                consecutive_fail += 1
        if consecutive_fail >= 200 and not pending:
            break
    for s in list(pending):
        sel.unregister(s)
        s.close()
        failures += 1
    sel.close()
    return failures


def small_payload(b):
    """Payload of the complete server frames at the start of b (small messages only)."""
    out, i = b"", 0
    while len(b) - i >= 2:
        n, h = b[i + 1] & 0x7F, 2
        if n == 126:
            if len(b) - i < 4:
                break
            n, h = int.from_bytes(b[i + 2:i + 4], "big"), 4
        elif n == 127:
            break
        if len(b) - i < h + n:
            break
        if b[i] & 0x0F < 8:
            out += b[i + h:i + h + n]
        i += h + n
    return out


def verify_sessions(proxy, socks, timeout, echoing):
    """Send one echo message on every session; count those whose echo comes back.
    echoing: set of sockets already switched to echo mode (updated)."""
    want = b"ping"
    sel = selectors.DefaultSelector()
    bufs = {}
    for s in socks:
        msg = want if s in echoing else b"E" + want
        echoing.add(s)
        try:
            s.send(ws_frame(msg) if proxy.ws else msg)
            bufs[s] = b""
            sel.register(s, selectors.EVENT_READ)
        except OSError:
            pass
    ok = 0
    deadline = time.monotonic() + timeout
    while bufs and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            if not d:
                sel.unregister(s)
                del bufs[s]
                continue
            b = bufs[s] + d
            payload = small_payload(b) if proxy.ws else b
            if len(payload) >= len(want):
                if payload[:len(want)] == want:
                    ok += 1
                sel.unregister(s)
                del bufs[s]
            else:
                bufs[s] = b
    sel.close()
    return ok


def dir_size(d):
    total = 0
    for f in os.listdir(d):
        try:
            total += os.path.getsize(os.path.join(d, f))
        except OSError:
            pass
    return total


RECORD_BENCH_BIN = None   # RecordBench, for the recording floor (scripts/bench-proxy builds it)


def thread_cpu(pid, name):
    """CPU seconds of the threads of process `pid` called `name` (ours names its writer "recorder")."""
    total = 0.0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0.0
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                if f.read().strip() != name:
                    continue
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            pass
    return total


def floor_cpu(directory, megabytes, pattern):
    """CPU-s per GB of RecordBench's floor loop (Benchmarks/Sources/RecordBench/RecordingFloor.swift):
    the same payload written in the recorder's 1 MiB blocks with its CRC-32 (and, for the zero
    payload, which the recorder deflates, zlib level 1), to a file in the same directory. None when
    RecordBench is not there or failed."""
    if not RECORD_BENCH_BIN:
        return None
    argv = [RECORD_BENCH_BIN, "floor", "--megabytes", str(megabytes), "--dir", directory]
    argv += ["--payload", "random"] if pattern == "random" else ["--payload", "zeros", "--compression", "zlib"]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120).stdout
        return float(out.split("cpu_s_per_gb=")[1].split()[0])
    except (OSError, subprocess.SubprocessError, IndexError, ValueError):
        return None


def settled_size(d, timeout=20.0):
    """Size of the files in d once it stopped changing (0.5 s quiet); and how long after the call
    the last change was seen."""
    t0 = time.monotonic()
    size, changed = dir_size(d), t0
    while time.monotonic() - t0 < timeout:
        time.sleep(0.1)
        n = dir_size(d)
        if n != size:
            size, changed = n, time.monotonic()
        elif time.monotonic() - changed >= 0.5:
            break
    return size, changed - t0


def proxy_log_problems(p, top=3):
    counts = {}
    try:
        with open(p.log_path, "rb") as f:
            for line in f.read().decode("utf-8", "replace").splitlines():
                if any(w in line.lower() for w in ("exception", "error", "fail", "refused", "too many")):
                    line = line.strip()[:100]
                    counts[line] = counts.get(line, 0) + 1
    except (OSError, TypeError):
        return []
    return ["%dx %s" % (c, l) for l, c in sorted(counts.items(), key=lambda kv: -kv[1])[:top]]


def idle_sessions(kind, target, tmp, counts, log):
    """Fresh proxy; open sessions up to each count in counts; memory per session at each step."""
    proxy = Proxy(kind, target.port, tmp)
    socks = []
    echoing = set()
    steps = []
    try:
        # warm-up: one session open and closed, then the baseline
        c = Conn(proxy.port, proxy.ws, timeout=10)
        c.send(b"E")
        c.sock.sendall(ws_frame(b"x") if proxy.ws else b"x")
        c.read(1)
        c.close()
        base_conns = target.wait_conns(0, 10)
        time.sleep(0.5)
        rss0, pss0, np0 = tree_memory(proxy.pid)
        for want in counts:
            t0 = time.monotonic()
            fails = open_sessions(proxy, want - len(socks), socks,
                                  deadline=time.monotonic() + max(60, want / 50))
            opened_s = time.monotonic() - t0
            conns = target.wait_conns(base_conns + len(socks), 15, cmp="ge")
            time.sleep(1.0)
            rss, pss, nprocs = tree_memory(proxy.pid)
            n = len(socks)
            held = verify_sessions(proxy, socks, timeout=30, echoing=echoing)
            step = dict(want=want, opened=n, failures=fails, target_conns=conns - base_conns,
                        held=held, rss_kib=rss - rss0, pss_kib=pss - pss0, procs=nprocs,
                        rss_base=rss0, pss_base=pss0, open_s=opened_s,
                        alive=proxy.alive())
            # per session = per session that has its target connection (a session the proxy dropped
            # after the upgrade costs it nothing and must not dilute the figure)
            live = min(n, step["target_conns"])
            step["live"] = live
            step["kib_per"] = step["rss_kib"] / live if live > 0 else None
            step["pss_per"] = step["pss_kib"] / live if live > 0 else None
            steps.append(step)
            log("  %-6s %5d sessions: upgraded %d (%d failed) in %.1f s, target connections %d, echo ok %d;"
                " RSS +%d KiB (%s KiB/session; before %d KiB), PSS +%d KiB (%s KiB/session), %d process(es)"
                % (kind, want, n, fails, opened_s, step["target_conns"], held, step["rss_kib"],
                   fmt(step["kib_per"], "%.1f"), rss0, step["pss_kib"], fmt(step["pss_per"], "%.1f"), nprocs))
            if held < want:
                lines = proxy_log_problems(proxy.proc)
                if lines:
                    log("         %s log, most frequent problems: %s" % (kind, " | ".join(lines)))
            if not proxy.alive():
                log("  %-6s exited during the idle test: %s" % (kind, log_tail(proxy.proc)))
                break
    finally:
        for s in socks:
            s.close()
        if proxy.alive():
            target.wait_conns(0, 30)
        proxy.stop()
        target.wait_conns(0, 10)
    return steps


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def fmt(v, spec="%.0f"):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return spec % v


def report(args, kinds, res, rec, nbytes, log, placements):
    def get(k, key, i=0, pl="free"):
        v = res.get(k, {}).get(key if pl == "free" or k == "direct" else key + "_pin")
        if v is None and k == "direct":
            v = res.get(k, {}).get(key + "_pin")
        return v[i] if v else None

    def ratio(a, b):
        return a / b if a and b else None

    log("\n" + "=" * 112)
    log("%-8s %9s %9s %8s %8s %8s %8s %11s %11s  %s" % (
        "", "t->b", "b->t", "CPU s/GB", "CPU s/GB", "RTT p50", "RTT p99", "idle RSS", "idle PSS",
        "sessions held"))
    log("%-8s %9s %9s %8s %8s %8s %8s %11s %11s" % (
        "proxy", "MB/s", "MB/s", "t->b", "b->t", "us", "us", "KiB/session", "KiB/session"))
    gb = nbytes / 1e9
    rows = [("direct", placements[0])] + [(k, pl) for pl in placements for k in kinds]
    for k, pl in rows:
        r = res.get(k, {})
        idle = (r.get("idle") or []) if pl == placements[0] else []
        first = idle[0] if idle else None
        if k == "direct":
            held = "(no proxy: client <-> target)"
        elif idle:
            held = ", ".join("%d of %d" % (st["held"], st["want"]) for st in idle)
        else:
            held = "-"
        cpu = lambda key: (None if k == "direct" or get(k, key, 1, pl) is None else get(k, key, 1, pl) / gb)
        log("%-8s %9s %9s %8s %8s %8s %8s %11s %11s  %s" % (
            k if pl == "free" or k == "direct" else k + " pin", fmt(get(k, "t2b", 0, pl)), fmt(get(k, "b2t", 0, pl)),
            fmt(cpu("t2b"), "%.2f"), fmt(cpu("b2t"), "%.2f"),
            fmt(get(k, "rtt", 0, pl)), fmt(get(k, "rtt", 1, pl)),
            fmt(first and first["kib_per"], "%.1f"), fmt(first and first["pss_per"], "%.1f"), held))
    if "pinned" in placements:
        log("  pin: the proxy's process tree confined to CPU %d (client and target on CPUs %s), the same"
            " for every proxy" % (PIN_CPU, ",".join(map(str, ALL_CPUS))))
    if not args.skip_idle:
        log("  idle: (RSS or PSS of the proxy's process tree with N sessions open - before) / N, N = %d"
        " (or the sessions that still had their target connection, if fewer);" % args.sessions)
        log("        PSS counts shared pages once (python websockify and socat fork per connection)."
        " held = sessions that echoed a message after all were opened")
    log("  CPU s/GB: proxy process-tree CPU time (per-thread schedstat, plus reaped children) per 10^9"
        " bytes moved; less sensitive to a busy machine than MB/s")
    if rec:
        log("\nrecording, t->b MB/s      random      zero")
        for name in ("ours-off", "ours-rec", "before-off", "before-rec", "python-off", "python-rec"):
            if name in rec:
                v = rec[name]
                log("  %-22s %8s  %8s%s" % (name, fmt(v.get("random")), fmt(v.get("zero")),
                                            "   (%s)" % v["error"][:60] if "error" in v else ""))

    if "socat" in kinds or ("ours" in kinds and ("python" in kinds or "before" in kinds)):
        log("\nratios (same run)")
    others = [k for k in kinds if k != "socat"]
    for pl in placements:
        tag = "" if pl == "free" else " (both pinned)"
        pairs = []
        if "socat" in kinds:
            pairs += [(k, "socat") for k in others]
            if pl == "free":
                pairs.append(("socat", "direct"))
        if "ours" in kinds and "python" in kinds:
            pairs.append(("ours", "python"))
        if "ours" in kinds and "before" in kinds:
            pairs.append(("ours", "before"))
        for k, base in pairs:
            log("  %-6s / %-6s t->b %6s   b->t %6s   RTT p50 %6s%s" % (
                k, base, fmt(ratio(get(k, "t2b", 0, pl), get(base, "t2b", 0, pl)), "%.2fx"),
                fmt(ratio(get(k, "b2t", 0, pl), get(base, "b2t", 0, pl)), "%.2fx"),
                fmt(ratio(get(k, "rtt", 0, pl), get(base, "rtt", 0, pl)), "%.2fx"), tag))
    if "socat" in kinds and get("socat", "t2b") and get("direct", "t2b"):
        if min(ratio(get("socat", "t2b"), get("direct", "t2b")) or 0,
               ratio(get("socat", "b2t"), get("direct", "b2t")) or 0) >= 0.7:
            log("  (socat runs close to the Python client/target's own ceiling ('direct'); a proxy can"
                " at most match it here)")

    if "ours" not in kinds:
        return
    rows = []

    def target_row(label, value, ok, shown):
        if value is None:
            rows.append("  %-44s %18s  n/a" % (label, "-"))
        else:
            rows.append("  %-44s %18s  %s" % (label, shown, "PASS" if ok(value) else "MISS"))

    def x(v):
        return "%.2fx" % v if v is not None else "-"

    judged = "pinned" if "pinned" in placements else "free"
    log("\ntargets (ours; throughput and round-trip ratios judged %s)" % (
        "unpinned" if judged == "free" else "with both proxies pinned alike" + (
            ", unpinned figures in brackets" if "free" in placements else "")))
    if "socat" in kinds:
        def both(key):
            v = ratio(get("ours", key, 0, judged), get("socat", key, 0, judged))
            both_ways = judged == "pinned" and "free" in placements
            free = ratio(get("ours", key), get("socat", key)) if both_ways else None
            return v, x(v) + (" (%s)" % x(free) if both_ways else "")
        v, shown = both("t2b")
        target_row("t->b >= 0.9x socat", v, lambda v: v >= 0.9, shown)
        v, shown = both("b2t")
        target_row("b->t >= 0.8x socat", v, lambda v: v >= 0.8, shown)
        v, shown = both("rtt")
        target_row("RTT p50 <= 1.2x socat", v, lambda v: v <= 1.2, shown)
    else:
        rows.append("  (socat not run: ratio targets n/a)")
    idle = res["ours"].get("idle")
    if idle:
        v = idle[0]["kib_per"]
        target_row("<= 8 KiB RSS per idle session (%d sessions)" % idle[0]["want"], v,
                   lambda v: v <= 8.0, fmt(v, "%.1f KiB"))
        big = [st for st in idle if st["want"] >= args.max_sessions]
        if big:
            v = big[0]["held"]
            target_row("%d idle sessions held" % big[0]["want"], v,
                       lambda v: v >= big[0]["want"], "%d" % v)
    elif not args.skip_idle:
        target_row("<= 8 KiB RSS per idle session", None, None, None)
        target_row("%d idle sessions held" % args.max_sessions, None, None, None)
    if not args.skip_record:
        o, on = rec.get("ours-off", {}), rec.get("ours-rec", {})
        pr = rec.get("python-rec", {})
        v = ratio(on.get("random"), o.get("random"))
        cost = recording_cost(args, rec, log)
        w = cost.get("random")
        label = "recording on >= 0.7x off, or extra CPU <= 1.2x floor (random)"
        if v is None and w is None:
            target_row(label, None, None, None)
        else:
            rows.append("  %-44s %18s  %s" % (
                label, "%s; %s floor" % (x(v), x(w)),
                "PASS" if (v is not None and v >= 0.7) or (w is not None and w <= 1.2) else "MISS"))
        v = ratio(on.get("zero"), o.get("zero"))
        rows.append("  %-44s %18s  (no target)" % (
            "recording on / off (zero payload)", "%s; %s floor" % (x(v), x(cost.get("zero")))))
        if "python" in kinds:
            v = ratio(on.get("random"), pr.get("random"))
            target_row("ours recording >= 8x python recording (random)", v, lambda v: v >= 8, x(v))
            v = ratio(on.get("zero"), pr.get("zero"))
            target_row("ours recording >= 8x python recording (zero)", v, lambda v: v >= 8, x(v))
    for row in rows:
        log(row)


def spread(values):
    """'median (min-max)' of a list of numbers."""
    v = sorted(values)
    med = v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
    return med, "%.3f (%.3f-%.3f)" % (med, v[0], v[-1])


def recording_cost(args, rec, log):
    """Prints what recording costs ours in CPU per GB against the floor, run by run, and returns
    {payload: median of extra/floor}. Each round r measured recording off, on and the floor one
    after the other, so a round's three figures see the same load."""
    gb = args.record_megabytes * MiB / 1e9
    out = {}
    lines = []
    # --baseline's build ("before") gets the same rows, each round against the same floor.
    for k, pname in [(k, p) for k in ("ours", "before") for p in ("random", "zero")]:
        off = rec.get(k + "-off", {}).get(pname + "_cpu", {})
        on = rec.get(k + "-rec", {}).get(pname + "_cpu", {})
        floor = rec.get("floor", {}).get(pname, {})
        rounds = sorted(set(off) & set(on))
        if not rounds:
            continue
        extra = {r: (on[r] - off[r]) / gb for r in rounds}
        row = "  %-7s  off %s  on %s  extra %s" % (
            pname if k == "ours" else "before " + pname, spread([off[r] / gb for r in rounds])[1], spread([on[r] / gb for r in rounds])[1],
            spread(extra.values())[1])
        paired = [r for r in rounds if r in floor and floor[r] > 0]
        if paired:
            ratios = [extra[r] / floor[r] for r in paired]
            if k == "ours":
                out[pname] = spread(ratios)[0]
            row += "  floor %s  extra/floor %s" % (spread([floor[r] for r in paired])[1], spread(ratios)[1])
        else:
            row += "  floor n/a (RecordBench not built or failed)"
        lines.append(row)
        writer = rec.get(k + "-rec", {}).get(pname + "_writer", {})
        if writer:
            # The writer thread alone, and what the rest of the proxy spent beyond recording off.
            rest = [(on[r] - writer[r] - off[r]) / gb for r in rounds if r in writer]
            row = "  %-7s  of the extra: recorder thread %s, the rest %s" % (
                "", spread([writer[r] / gb for r in rounds if r in writer])[1], spread(rest)[1])
            if paired and all(r in writer for r in paired):
                row += "  recorder thread/floor %s" % spread([writer[r] / gb / floor[r] for r in paired])[1]
            lines.append(row)
    if lines:
        log("\nrecording cost, ours%s: proxy process CPU-s per GB of payload, median (min-max) over %d rounds"
            % (" (and 'before', --baseline)" if "before-rec" in rec else "", args.repeat))
        log("  (off, on: the whole proxy; 'on' counts until the recorder has written all; extra = on - off"
            " of the same round;")
        log("   floor: RecordBench floor in the same round: the payload written in 1 MiB blocks with the"
            " recorder's CRC-32, zlib level 1 for the zero payload, nothing else)")
        for line in lines:
            log(line)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--megabytes", type=int, default=512, help="MiB per throughput run (default 512)")
    ap.add_argument("--only", default="ours,python,socat", help="comma list of ours,python,socat")
    ap.add_argument("--sessions", type=int, default=2000, help="idle sessions (default 2000)")
    ap.add_argument("--max-sessions", type=int, default=9000, help="ours only: sessions to try to hold (default 9000)")
    ap.add_argument("--record-megabytes", type=int, default=256, help="MiB per recording run (default 256)")
    ap.add_argument("--repeat", type=int, default=5, help="throughput and recording runs per proxy, best kept (default 5)")
    ap.add_argument("--rtt-repeat", type=int, default=10,
                    help="round-trip runs per proxy and placement, best kept (default 10; 0.2 s each)")
    ap.add_argument("--placement", choices=("both", "free", "pinned"), default="both",
                    help="CPU placement for throughput and RTT: unpinned, the proxy pinned to one CPU, "
                         "or both (default; targets judged pinned)")
    ap.add_argument("--baseline", metavar="BIN",
                    help="another websockify binary (say, a build of an earlier commit), measured as 'before'"
                         " in the same run, taking turns with the others")
    ap.add_argument("--skip-idle", action="store_true")
    ap.add_argument("--skip-record", action="store_true")
    ap.add_argument("--record-dir", default="/tmp",
                    help="where record files go (default /tmp; /dev/shm takes the disk out of the figure)")
    ap.add_argument("--busy-sessions", metavar="N[,N...]",
                    help="run only part 6: N sessions at once, each with a VNC-like load (Benchmarks/busy_sessions.py), "
                         "for each N, through direct/socat/python/ours with 1 and 2 event loops")
    ap.add_argument("--busy-seconds", type=float, default=60.0, help="measuring time per proxy and N (default 60)")
    ap.add_argument("--busy-workers", type=int, default=2, help="load generator processes (default 2)")
    ap.add_argument("--_target-server", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._target_server:
        try:
            target_server()
        except KeyboardInterrupt:
            pass
        return 0

    kinds = [k.strip() for k in args.only.split(",") if k.strip()]
    for k in kinds:
        if k not in ("ours", "python", "socat"):
            ap.error("unknown proxy %r in --only" % k)
    if args.baseline:
        global BASELINE_BIN
        BASELINE_BIN = os.path.abspath(args.baseline)
        if not os.access(BASELINE_BIN, os.X_OK):
            ap.error("--baseline %s is not an executable" % args.baseline)
        kinds.insert(kinds.index("ours") + 1 if "ours" in kinds else 0, "before")
    if "ours" in kinds and not os.environ.get("WEBSOCKIFY_BIN"):
        ap.error("WEBSOCKIFY_BIN is not set (scripts/bench-proxy sets it)")
    global RECORD_BENCH_BIN
    RECORD_BENCH_BIN = os.environ.get("RECORD_BENCH_BIN")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGINT, on_signal)   # also when started with SIGINT ignored (background job)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    t_start = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="proxy-bench-", dir="/tmp")
    recdir = None

    def log(s):
        print(s, flush=True)

    nbytes = args.megabytes * MiB
    rec_bytes = args.record_megabytes * MiB
    res = {k: {} for k in kinds}
    rec = {}
    try:
        py = os.environ.get("PY_WEBSOCKIFY") or shutil.which("websockify")
        log("proxy benchmark  %s  (%d CPUs, load %.1f; RLIMIT_NOFILE %d, inherited by the proxies)"
            % (time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), os.cpu_count(),
               os.getloadavg()[0], hard))
        for k in kinds:
            log("  %-6s %s" % (k, {"ours": os.environ.get("WEBSOCKIFY_BIN"), "before": BASELINE_BIN, "python": py,
                                  "socat": shutil.which("socat")}[k]))
        log("  client and target are Python (stdlib) processes; MB = 10^6 bytes; "
            "throughput and recording: best of %d runs, RTT: best of %d, proxies taken in turn"
            % (args.repeat, args.rtt_repeat))
        placements = ["free", "pinned"] if args.placement == "both" else [args.placement]
        if len(ALL_CPUS) < 2 and "pinned" in placements:
            placements = ["free"]
            log("  one CPU only: no pinned placement")
        if args.busy_sessions:
            import busy_sessions
            busy_sessions.run_busy(sys.modules[__name__], args, kinds, tmp, log)
            log("\nrun time %.0f s" % (time.monotonic() - t_start))
            return 0
        target = Target()

        # ---- 1-3: throughput and RTT on one instance per proxy ----
        proxies = {"direct": Direct(target)}
        res["direct"] = {}
        for k in kinds:
            try:
                proxies[k] = Proxy(k, target.port, tmp)
            except BenchError as e:
                log("  %s: %s" % (k, e))
                res[k]["error"] = str(e)
        log("\n[1-3] throughput (%d MiB per run, 64 KiB chunks/frames) and 16-byte round trips"
            % args.megabytes)
        for k, p in proxies.items():   # warm-up
            try:
                t2b(p, 8 * MiB)
                b2t(p, 8 * MiB)
            except (BenchError, OSError) as e:
                log("  %s warm-up failed: %s" % (k, e))
        tests = [("t2b", lambda p: t2b(p, nbytes)), ("b2t", lambda p: b2t(p, nbytes)),
                 ("rtt", lambda p: rtt(p))]
        for name, fn in tests:
            for r in range(args.rtt_repeat if name == "rtt" else args.repeat):
                for pl in placements:
                    for k, p in proxies.items():
                        if k == "direct" and pl != placements[0]:
                            continue
                        key = name if pl == "free" else name + "_pin"
                        label = "%-6s%s" % (k, "" if pl == "free" else " pin")
                        if not p.alive():
                            res[k].setdefault(key + "_err", "proxy exited: " + log_tail(p.proc))
                            continue
                        place(p.pid, pl)
                        try:
                            v = fn(p)
                        except (BenchError, OSError) as e:
                            res[k].setdefault(key + "_err", str(e))
                            log("  %-10s %s run %d failed: %s" % (label, name, r + 1, e))
                            continue
                        if name == "rtt":
                            log("  %-10s rtt run %d: p50 %.0f us, p99 %.0f us" % (label, r + 1, v[0], v[1]))
                            if key not in res[k] or v[0] < res[k][key][0]:
                                res[k][key] = v
                        else:
                            log("  %-10s %s run %d: %7.0f MB/s%s" % (label, name, r + 1, v[0], "" if k == "direct" else
                                "  (proxy CPU %.2f s = %.2f s/GB)" % (v[1], v[1] / (nbytes / 1e9))))
                            if key not in res[k] or v[0] > res[k][key][0]:
                                res[k][key] = v
                        target.wait_conns(0, 10)
        for p in proxies.values():
            p.stop()

        # ---- 4: idle sessions ----
        if not args.skip_idle:
            log("\n[4] idle sessions (fresh proxy; RSS/PSS summed over the proxy's process tree)")
            for k in kinds:
                if "error" in res[k]:
                    continue
                counts = [args.sessions]
                if k == "ours" and args.max_sessions > args.sessions:
                    counts.append(args.max_sessions)
                elif k not in ("ours", "before"):
                    log("  %-6s %d-session step skipped (%s)" % (
                        k, args.max_sessions, "forks a process per connection"))
                try:
                    res[k]["idle"] = idle_sessions(k, target, tmp, counts, log)
                except (BenchError, OSError) as e:
                    log("  %-6s idle test failed: %s" % (k, e))
                    res[k]["idle_err"] = str(e)

        # ---- 5: recording ----
        if not args.skip_record:
            log("\n[5] recording: target->browser, %d MiB per run, random and zero payload" % args.record_megabytes)
            recdir = tempfile.mkdtemp(prefix="proxy-bench-rec-", dir=args.record_dir)
            # The file system's own write speed there, for context: recording cannot beat it.
            probe = os.path.join(recdir, "plain-write")
            chunk = os.urandom(MiB)
            t0 = time.monotonic()
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            for _ in range(args.record_megabytes):
                os.write(fd, chunk)
            os.close(fd)
            plain_mbps = args.record_megabytes * MiB / 1e6 / (time.monotonic() - t0)
            os.unlink(probe)
            log("  record files in %s; a plain 1 MiB write loop there: %d MB/s" % (recdir, plain_mbps))
            plan = []
            for k in ("ours", "before"):
                if k in kinds:
                    plan += [(k, False), (k, True)]
            if "python" in kinds:
                plan += [("python", False), ("python", True)]
            # The proxies take turns, each run R times (best kept), so that on and off see the same
            # moments of a noisy machine. Every run starts a fresh proxy with a fresh record file,
            # deleted afterwards: dirty pages piling up across runs would bring in the disk's own
            # write-back speed. Placement stays free here: the recorder needs a CPU of its own.
            for r in range(args.repeat):
                for pat, pname in ((b"r", "random"), (b"z", "zero")):
                    for k, on in plan:
                        name = "%s-%s" % (k, "rec" if on else "off")
                        if "error" in res[k] or "error" in rec.get(name, {}):
                            continue
                        what = "recording" if on else "no recording"
                        recfile = os.path.join(recdir, k + ".rec") if on else None
                        if on:
                            # Page-cache writes cost what the pages they get cost: on this VM pages
                            # just freed are cheap (0.25 CPU-s/GB) and others up to 3 (the host backs
                            # them again). The floor below follows the deletion of this run's file; so
                            # that this run is alike, it follows the deletion of a floor run's file.
                            floor_cpu(recdir, args.record_megabytes, pname)
                        try:
                            p = Proxy(k, target.port, tmp, record=recfile)
                        except BenchError as e:
                            log("  %-6s %s: %s" % (k, what, e))
                            rec.setdefault(name, {})["error"] = str(e)   # best figures so far stay
                            continue
                        try:
                            t2b(p, 4 * MiB)   # warm-up (also recorded)
                            target.wait_conns(0, 10)
                            before = settled_size(recdir)[0] if on else 0
                            cpu0 = tree_cpu(p.pid)
                            writer0 = thread_cpu(p.pid, "recorder")
                            v = t2b(p, rec_bytes, pat)
                            extra = ""
                            if on:
                                after, lag = settled_size(recdir)
                            # From before the connection until the recorder has written all (its
                            # thread's CPU counts), the same span with recording off.
                            v = (v[0], tree_cpu(p.pid) - cpu0)
                            writer = thread_cpu(p.pid, "recorder") - writer0
                            if on:
                                per = (after - before) / rec_bytes
                                extra = "; record file(s) +%.1f MB (%.3f bytes per payload byte), last write %.1f s after the last byte" % (
                                    (after - before) / 1e6, per, lag)
                                if pname == "random" and per < 0.95:
                                    extra += "  ** smaller than the incompressible payload: data dropped? **"
                            target.wait_conns(0, 10)
                        except (BenchError, OSError) as e:
                            log("  %-6s %-12s %-6s run %d failed: %s" % (k, what, pname, r + 1, e))
                            rec.setdefault(name, {}).setdefault(pname, None)
                            continue
                        finally:
                            p.stop()
                            for f in os.listdir(recdir):
                                os.remove(os.path.join(recdir, f))
                        log("  %-6s %-12s %-6s run %d %7.0f MB/s  (proxy CPU %.2f s)%s"
                            % (k, what, pname, r + 1, v[0], v[1], extra))
                        best = rec.setdefault(name, {}).get(pname)
                        if best is None or v[0] > best:
                            rec[name][pname] = v[0]
                        rec[name].setdefault(pname + "_cpu", {})[r] = v[1]
                        if on and k in ("ours", "before"):
                            rec[name].setdefault(pname + "_writer", {})[r] = writer
                    # The floor, at the same moment of the machine: the cheapest recorder's CPU.
                    floor = floor_cpu(recdir, args.record_megabytes, pname)
                    if floor is not None:
                        rec.setdefault("floor", {}).setdefault(pname, {})[r] = floor
                        log("  floor  %-12s %-6s run %d  %.3f CPU-s/GB  (RecordBench floor: write + CRC%s)"
                            % ("", pname, r + 1, floor, ", zlib level 1" if pname == "zero" else ""))

        # ---- report ----
        report(args, kinds, res, rec, nbytes, log, placements)
        errs = ["%s %s: %s" % (k, key, v) for k in res for key, v in res[k].items() if key.endswith("err") or key == "error"]
        errs += ["%s: %s" % (k, v["error"]) for k, v in rec.items() if "error" in v]
        if errs:
            log("\nerrors")
            for e in errs:
                log("  " + e)
        log("\nrun time %.0f s" % (time.monotonic() - t_start))
    except KeyboardInterrupt:
        log("\ninterrupted; stopping everything")
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # a second Ctrl-C must not cut the clean-up short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        if recdir:
            shutil.rmtree(recdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
