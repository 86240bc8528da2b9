#!/usr/bin/env python3
"""Zero-copy target->browser (issue 18 §2): does splice(2) pay? A measurement, not a product feature.

    splice_bench.py [--megabytes N] [--repeat R] [--only socat,ours,splice,copy,python]
                    [--placement both|free|pinned] [--harness python|lean|both] [--check-only]
                    [--skip-check] [--pipe-size BYTES]

Proxies, all started on 127.0.0.1 with ports chosen at run time, against proxy_bench.py's target:
  socat   socat -b 1048576 TCP-LISTEN:L,fork TCP:T (raw TCP: the plain relay to beat by 1.3x)
  ours    $WEBSOCKIFY_BIN (a release build of websockify)
  splice  $SPLICE_PROBE_BIN --mode splice: Benchmarks/Sources/SpliceProbe, a minimal RFC 6455 relay,
          one blocking thread per direction; each target->client frame is a header written with
          MSG_MORE, then the payload spliced target socket -> pipe (F_SETPIPE_SZ 1 MiB) -> client
          socket, the frame sized by what the first splice returned; the payload never enters
          user space
  copy    the same probe, --mode copy: the same threads and framing, with read(2) into a 1 MiB buffer
          and one send of header + payload. splice / copy is the gain of splice itself; copy / ours
          is what the NIO proxy costs over the least a relay can do
  python  the PyPI websockify 0.13 ($PY_WEBSOCKIFY or `websockify` on PATH)
  direct  no proxy: the Python client reading the target itself (this harness's ceiling)

1. Correctness, per WebSocket proxy (a fresh proxy, a target in this process):
   target->client: the target writes 1 byte, 2, 125, 126, 127, ..., 64 KiB +- 1, 1 MiB + 1, 3 MiB and
   random sizes (32 MiB in all, a pause after each of the small ones, so frames of every header size
   appear), then closes. Every frame must be a valid server frame (FIN, no RSV bits, unmasked,
   binary or a final close, the shortest length encoding, RFC 6455 §5.2); the payloads joined must
   equal what the target wrote (SHA-256), and the connection must end with a close frame.
   client->target: 8 MiB in masked frames with random keys, part of it a fragmented message with a
   ping between its fragments; the target answers the SHA-256 of what it got, which must match,
   the ping must come back as a pong with its payload, and a close must be answered with a close.
2. Target->browser throughput: the target writes N MiB of random bytes; the client counts payload
   bytes until all arrived. Two harnesses (--harness, default both):
     python  proxy_bench.py's target (64 KiB sendall) and client (recv_into, parses frames): the
             figures bench-proxy prints
     lean    a target that sendfile(2)s the bytes from a file in /dev/shm and a client that reads
             only the frame headers and discards payload with recv(MSG_TRUNC), copying nothing: the
             peers cost as little as they can, so more of the machine is left to the proxy and
             what the proxy saves shows most
   MB/s and the proxy process tree's CPU seconds per GB (per-thread schedstat from /proc, plus
   reaped children); beside them the client's and the target's CPU per GB (the three share the
   machine's CPUs).
   R runs (--repeat), the proxies taken in turn within each run, each run unpinned and with the
   proxy's process tree pinned to one CPU (proxy_bench.py's placement). Best, median and spread
   are printed, and ratios against socat in the same run and placement.

Exit status: 1 if a correctness check failed (the figures of a proxy that fails are still printed,
marked), 0 otherwise. Nothing is asserted about the figures.
"""

import argparse
import hashlib
import os
import random
import re
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxy_bench as pb  # noqa: E402  (the harness: target, client, proxies, /proc CPU, placement)

MiB = pb.MiB
KINDS = ("socat", "ours", "splice", "copy", "python")
WS_KINDS = ("ours", "splice", "copy", "python")


class CheckFailed(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Starting the proxies (proxy_bench.Proxy: waits until it listens, stops its process group)
# ---------------------------------------------------------------------------------------------

def start_proxy(kind, target_port, tmp, pipe_size):
    if kind not in ("splice", "copy"):
        return pb.Proxy(kind, target_port, tmp)
    # proxy_bench.Proxy starts $WEBSOCKIFY_BIN EXTRA... LISTEN TARGET for "ours": the probe takes the
    # same positional arguments, so it is started as that with its options in front.
    saved = os.environ.get("WEBSOCKIFY_BIN")
    os.environ["WEBSOCKIFY_BIN"] = os.environ["SPLICE_PROBE_BIN"]
    try:
        p = pb.Proxy("ours", target_port, tmp, extra=("--mode", kind, "--pipe-size", str(pipe_size)))
    finally:
        if saved is None:
            del os.environ["WEBSOCKIFY_BIN"]
        else:
            os.environ["WEBSOCKIFY_BIN"] = saved
    p.kind = kind
    return p


def probe_frames(proxy, min_bytes):
    """From the probe's log: (frames, bytes) of its sessions that moved at least min_bytes to the client."""
    frames = total = 0
    try:
        with open(proxy.proc.log_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = re.search(r"target→client (\d+) bytes in (\d+) frames", line)
                if m and int(m.group(1)) >= min_bytes:
                    total += int(m.group(1))
                    frames += int(m.group(2))
    except OSError:
        pass
    return frames, total


# ---------------------------------------------------------------------------------------------
# 1. Correctness
# ---------------------------------------------------------------------------------------------

CHECK_SEED = 18_2
SMALL_WRITES = [1, 2, 125, 126, 127, 1000, 65535, 65536, 65537, 200_000, MiB + 1, 3 * MiB]
CHECK_T2C_BYTES = 32 * MiB
CHECK_C2T_BYTES = 8 * MiB
PING = b"splice-probe ping"


def check_stream(n, seed):
    return random.Random(seed).randbytes(n)


def t2c_writes():
    """The target's write sizes for the target->client check: the small ones (each followed by a
    pause, so it becomes a frame of its own), then random sizes up to CHECK_T2C_BYTES."""
    rng = random.Random(CHECK_SEED)
    sizes = list(SMALL_WRITES)
    left = CHECK_T2C_BYTES - sum(sizes)
    while left > 0:
        n = min(left, rng.randint(1, 2 * MiB))
        sizes.append(n)
        left -= n
    return sizes


class CheckTarget:
    """The correctness check's target, a thread of this process. A connection starts with b"T"
    (send the scripted stream, then close) or b"C" + u64 n (read n bytes, answer their SHA-256,
    wait for the end of stream)."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.t2c = check_stream(CHECK_T2C_BYTES, CHECK_SEED)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    @staticmethod
    def _read_exact(s, n):
        out = bytearray()
        while len(out) < n:
            d = s.recv(min(MiB, n - len(out)))
            if not d:
                raise OSError("end of stream after %d of %d bytes" % (len(out), n))
            out += d
        return bytes(out)

    def _serve(self, s):
        try:
            s.settimeout(60)
            mode = self._read_exact(s, 1)
            if mode == b"T":
                off = 0
                for i, n in enumerate(t2c_writes()):
                    s.sendall(self.t2c[off:off + n])
                    off += n
                    if i < len(SMALL_WRITES):
                        time.sleep(0.05)
            elif mode == b"C":
                n = struct.unpack(">Q", self._read_exact(s, 8))[0]
                s.sendall(hashlib.sha256(self._read_exact(s, n)).digest())
                while s.recv(65536):
                    pass
        except OSError:
            pass
        finally:
            s.close()

    def close(self):
        self.lsock.close()


def masked_frame(payload, opcode=2, fin=True, rng=None):
    """A client frame (RFC 6455 §5.2-5.3) masked with a random key."""
    key = bytes(rng.randrange(256) for _ in range(4)) if rng else os.urandom(4)
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        hdr = bytes((b0, 0x80 | n))
    elif n < 65536:
        hdr = bytes((b0, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        hdr = bytes((b0, 0x80 | 127)) + n.to_bytes(8, "big")
    k = int.from_bytes((key * ((n + 3) // 4))[:n], "little")
    body = (int.from_bytes(payload, "little") ^ k).to_bytes(n, "little")
    return hdr + key + body


class ServerFrames:
    """Reads server frames from a connection (after the upgrade) and checks each header."""

    def __init__(self, conn):
        self.sock = conn.sock
        self.buf = bytearray(conn.buf[conn.lo:conn.hi])
        self.header_sizes = {2: 0, 4: 0, 10: 0}

    def _need(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(MiB)
            if not d:
                raise CheckFailed("connection ended inside a frame (have %d of %d bytes)" % (len(self.buf), n))
            self.buf += d

    def next(self):
        """(opcode, payload) of the next frame; raises CheckFailed on an invalid header."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        if b1 & 0x80:
            raise CheckFailed("masked server frame")
        if b0 & 0x70:
            raise CheckFailed("RSV bits set: 0x%02x" % b0)
        if not b0 & 0x80:
            raise CheckFailed("fragmented server frame (no FIN)")
        n, h = b1 & 0x7F, 2
        if n == 126:
            self._need(4)
            n, h = int.from_bytes(self.buf[2:4], "big"), 4
            if n < 126:
                raise CheckFailed("length %d in the 16-bit form" % n)
        elif n == 127:
            self._need(10)
            n, h = int.from_bytes(self.buf[2:10], "big"), 10
            if n < 65536:
                raise CheckFailed("length %d in the 64-bit form" % n)
        self._need(h + n)
        payload = bytes(self.buf[h:h + n])
        del self.buf[:h + n]
        self.header_sizes[h] += 1
        return b0 & 0x0F, payload


def check_proxy(kind, proxy):
    """Runs both checks through one proxy; returns a line saying what was seen. Raises CheckFailed."""
    # target -> client
    c = pb.Conn(proxy.port, True, timeout=30)
    try:
        c.send(b"T")
        frames = ServerFrames(c)
        h = hashlib.sha256()
        got = data_frames = 0
        close_code = None
        while True:
            op, payload = frames.next()
            if op == 2:
                h.update(payload)
                got += len(payload)
                data_frames += 1
            elif op == 8:
                close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else "none"
                break
            elif op not in (9, 10):
                raise CheckFailed("target->client: unexpected opcode %d" % op)
        if got != CHECK_T2C_BYTES or h.digest() != hashlib.sha256(check_stream(CHECK_T2C_BYTES, CHECK_SEED)).digest():
            raise CheckFailed("target->client: %d bytes arrived, %d sent, SHA-256 %s" % (
                got, CHECK_T2C_BYTES, "differs" if got == CHECK_T2C_BYTES else "-"))
        sizes = frames.header_sizes
        t2c = ("t->c %d MiB in %d frames (headers 2/4/10 bytes: %d/%d/%d), SHA-256 equal, close %s" % (
            CHECK_T2C_BYTES // MiB, data_frames, sizes[2], sizes[4], sizes[10], close_code))
    finally:
        c.close()

    # client -> target: plain frames, then a fragmented message with a ping among its fragments
    rng = random.Random(CHECK_SEED + 1)
    data = check_stream(CHECK_C2T_BYTES, CHECK_SEED + 1)
    c = pb.Conn(proxy.port, True, timeout=30)
    try:
        c.sock.sendall(masked_frame(b"C" + struct.pack(">Q", len(data)), rng=rng))
        off, half, sent = 0, len(data) // 2, 0
        while off < half:
            n = min(half - off, rng.choice((1, 125, 126, 65535, 65536, 65537, 300_000)))
            c.sock.sendall(masked_frame(data[off:off + n], rng=rng))
            off, sent = off + n, sent + 1
        pieces = []
        while off < len(data):
            n = min(len(data) - off, rng.randint(1, MiB))
            pieces.append(data[off:off + n])
            off += n
        for i, piece in enumerate(pieces):
            c.sock.sendall(masked_frame(piece, opcode=2 if i == 0 else 0, fin=i == len(pieces) - 1, rng=rng))
            if i == len(pieces) // 2:
                c.sock.sendall(masked_frame(PING, opcode=9, rng=rng))
        frames = ServerFrames(c)
        answer, pong = b"", None
        while len(answer) < 32 or pong is None:
            if len(answer) >= 32:
                c.sock.settimeout(5)   # the answer is there: the pong, answered at once, must be too
            try:
                op, payload = frames.next()
            except socket.timeout:
                raise CheckFailed("client->target: no pong for the ping within 5 s of the answer")
            if op == 2:
                answer += payload
            elif op == 10:
                pong = payload
            elif op == 8:
                raise CheckFailed("client->target: close frame %r before the answer" % payload[:40])
        if pong != PING:
            raise CheckFailed("client->target: pong %r for ping %r" % (pong, PING))
        if answer[:32] != hashlib.sha256(data).digest():
            raise CheckFailed("client->target: the target's SHA-256 of what it got differs")
        c.sock.sendall(masked_frame(struct.pack(">H", 1000), opcode=8, rng=rng))
        while True:
            op, payload = frames.next()
            if op == 8:
                break
        c2t = "c->t %d MiB in %d frames + %d fragments around a ping, SHA-256 equal, pong, close answered" % (
            len(data) // MiB, sent, len(pieces))
    finally:
        c.close()
    return t2c + "; " + c2t


def run_checks(kinds, tmp, pipe_size, log):
    failed = {}
    target = CheckTarget()
    try:
        for k in kinds:
            if k not in WS_KINDS:
                continue
            try:
                p = start_proxy(k, target.port, tmp, pipe_size)
            except pb.BenchError as e:
                failed[k] = str(e)
                log("  %-7s FAIL (start): %s" % (k, e))
                continue
            try:
                log("  %-7s ok: %s" % (k, check_proxy(k, p)))
            except (CheckFailed, pb.BenchError, OSError) as e:
                failed[k] = str(e)
                log("  %-7s FAIL: %s" % (k, e))
            finally:
                p.stop()
    finally:
        target.close()
    return failed


# ---------------------------------------------------------------------------------------------
# 2. Throughput
# ---------------------------------------------------------------------------------------------

def measure(kinds, args, tmp, log, harness):
    nbytes = args.megabytes * MiB
    gb = nbytes / 1e9
    target = LeanTarget() if harness == "lean" else pb.Target()
    transfer = lean_t2b if harness == "lean" else pb.t2b
    proxies = {"direct": pb.Direct(target)}
    for k in kinds:
        try:
            proxies[k] = start_proxy(k, target.port, tmp, args.pipe_size)
        except pb.BenchError as e:
            log("  %s: %s" % (k, e))
    for k, p in proxies.items():   # warm-up
        try:
            transfer(p, 16 * MiB)
        except (pb.BenchError, OSError) as e:
            log("  %s warm-up failed: %s" % (k, e))
        target.wait_conns(0, 10)
    placements = ["free", "pinned"] if args.placement == "both" else [args.placement]
    runs = {}   # (kind, placement) -> [(MB/s, proxy s/GB, client s/GB, target s/GB)]
    loads = [os.getloadavg()[0]]
    for r in range(args.repeat):
        for pl in placements:
            for k, p in proxies.items():
                if k == "direct" and pl != placements[0]:
                    continue
                if not p.alive():
                    log("  %-6s exited: %s" % (k, pb.log_tail(p.proc)))
                    continue
                pb.place(p.pid, pl)
                cli0, tgt0 = time.process_time(), proc_cpu(target.proc.pid)
                try:
                    mbps, cpu = transfer(p, nbytes)
                except (pb.BenchError, OSError) as e:
                    log("  %-6s %-6s run %d failed: %s" % (k, pl, r + 1, e))
                    target.wait_conns(0, 10)
                    continue
                target.wait_conns(0, 10)   # the target's thread has ended: its CPU is in its process's
                cli, tgt = time.process_time() - cli0, proc_cpu(target.proc.pid) - tgt0
                row = (mbps, None if k == "direct" else cpu / gb, cli / gb, tgt / gb)
                runs.setdefault((k, pl), []).append(row)
                log("  %-6s %-6s run %d: %6.0f MB/s   CPU s/GB: proxy %s, client %.2f, target %.2f" % (
                    k, pl, r + 1, mbps, pb.fmt(row[1], "%.2f"), row[2], row[3]))
                target.wait_conns(0, 10)
        loads.append(os.getloadavg()[0])
    frames = {k: probe_frames(p, nbytes) for k, p in proxies.items() if k in ("splice", "copy")}
    for p in proxies.values():
        p.stop()
    pb.stop_process(target.proc)
    return runs, placements, loads, frames


# ---------------------------------------------------------------------------------------------
# The lean harness: a sendfile(2) target and a MSG_TRUNC client
# ---------------------------------------------------------------------------------------------

def lean_target():
    """The lean harness's target (a process of its own): proxy_bench.py's b"S" + u64 count + pattern
    byte request, answered with sendfile(2) from an 8 MiB file of random bytes in /dev/shm (page
    cache, nothing copied through this process), then it waits for the end of stream. stdin/stdout
    control as proxy_bench.py's target ("stats"), so proxy_bench.Target's methods work on it."""
    soft, hard = pb.resource.getrlimit(pb.resource.RLIMIT_NOFILE)
    pb.resource.setrlimit(pb.resource.RLIMIT_NOFILE, (hard, hard))
    fd, path = tempfile.mkstemp(prefix="splice-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    os.write(fd, os.urandom(pb.PATTERN_SIZE))
    os.unlink(path)
    lock = threading.Lock()
    counters = {"open": 0, "accepted": 0}

    def serve(s):
        try:
            s.settimeout(None)   # blocking: a socket with a timeout is non-blocking underneath, and sendfile would get EAGAIN
            req = CheckTarget._read_exact(s, 10)
            left, off = struct.unpack(">Q", req[1:9])[0], 0
            while left > 0:
                n = os.sendfile(s.fileno(), fd, off, min(left, pb.PATTERN_SIZE - off))
                left -= n
                off = (off + n) % pb.PATTERN_SIZE
            while s.recv(65536):
                pass
        except OSError:
            pass
        finally:
            s.close()
            with lock:
                counters["open"] -= 1

    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1024)
    sys.stdout.write("port %d\n" % lsock.getsockname()[1])
    sys.stdout.flush()

    def control():
        for line in sys.stdin:
            if line.strip() == "stats":
                with lock:
                    sys.stdout.write("conns %d accepted %d\n" % (counters["open"], counters["accepted"]))
                sys.stdout.flush()
        os._exit(0)
    threading.Thread(target=control, daemon=True).start()
    while True:
        s, _ = lsock.accept()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with lock:
            counters["open"] += 1
            counters["accepted"] += 1
        threading.Thread(target=serve, args=(s,), daemon=True).start()


class LeanTarget(pb.Target):
    def __init__(self):
        self.proc = pb.start_process([sys.executable, os.path.abspath(__file__), "--_lean-target"],
                                     stdin=pb.subprocess.PIPE, stdout=pb.subprocess.PIPE, stderr=None)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("port "):
            raise pb.BenchError("lean target did not start")
        self.port = int(line.split()[1])


def lean_t2b(proxy, nbytes):
    """Target -> browser with the lean client: frame headers read, payload discarded in the kernel
    (recv with MSG_TRUNC: TCP consumes it without copying). Returns (MB/s, proxy CPU seconds)."""
    c = pb.Conn(proxy.port, proxy.ws, timeout=60)
    scratch = bytearray(MiB)
    sock = c.sock
    pending = bytearray(c.buf[c.lo:c.hi])   # bytes the upgrade read past the response

    def take(n):
        """n bytes of header, from what is pending first."""
        nonlocal pending
        while len(pending) < n:
            d = sock.recv(4096)
            if not d:
                raise pb.BenchError("connection closed by proxy")
            pending += d
        out, pending = bytes(pending[:n]), pending[n:]
        return out

    def discard(n):
        nonlocal pending
        k = min(n, len(pending))
        del pending[:k]
        n -= k
        while n > 0:
            k = sock.recv_into(scratch, min(n, MiB), socket.MSG_TRUNC)
            if k == 0:
                raise pb.BenchError("connection closed by proxy")
            n -= k
        return k

    try:
        cpu0 = pb.tree_cpu(proxy.pid)
        t0 = time.perf_counter()
        deadline = time.monotonic() + pb.TRANSFER_LIMIT
        c.send(b"S" + struct.pack(">Q", nbytes) + b"r")
        got = 0
        while got < nbytes:
            if time.monotonic() > deadline:
                raise pb.BenchError("abandoned: slower than %d s per run" % pb.TRANSFER_LIMIT)
            if not proxy.ws:
                n = nbytes - got
            else:
                b0, b1 = take(2)
                n = b1 & 0x7F
                if n == 126:
                    n = int.from_bytes(take(2), "big")
                elif n == 127:
                    n = int.from_bytes(take(8), "big")
                if b0 & 0x0F == 8:
                    raise pb.BenchError("close frame from proxy")
                if b0 & 0x0F != 2:
                    take(n)
                    continue
            discard(n)
            got += n
        dt = time.perf_counter() - t0
        cpu = pb.tree_cpu(proxy.pid) - cpu0
    finally:
        c.close()
    return nbytes / dt / 1e6, cpu


def proc_cpu(pid):
    """CPU seconds of a process, its ended threads included (utime + stime of /proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    fields = st[st.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / pb.CLK_TCK


def spread(values, spec):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return (spec + " (" + spec + "-" + spec + ")") % (statistics.median(values), min(values), max(values))


def report(kinds, runs, placements, loads, frames, failed, args, log, harness):
    log("\n" + "=" * 104)
    log("target->browser, %s harness, %d MiB per run, %d runs; median (min-max); load %s" % (
        harness, args.megabytes, args.repeat, " -> ".join("%.1f" % v for v in loads)))
    log("%-14s %8s %20s %20s %11s %11s %11s" % ("", "best", "MB/s", "proxy CPU", "client CPU", "target CPU",
                                                  "all three"))
    log("%-14s %8s %20s %20s %11s %11s %11s" % ("proxy", "MB/s", "median (min-max)", "s/GB", "s/GB", "s/GB", "s/GB"))
    for pl in placements:
        for k in ["direct"] + list(kinds):
            rows = runs.get((k, pl))
            if not rows:
                continue
            label = k if pl == "free" or k == "direct" else k + " pin"
            if k in failed:
                label += " !"
            log("%-14s %8.0f %20s %20s %11s %11s %11s" % (
                label, max(r[0] for r in rows), spread([r[0] for r in rows], "%.0f"),
                spread([r[1] for r in rows], "%.2f"), "%.2f" % statistics.median(r[2] for r in rows),
                "%.2f" % statistics.median(r[3] for r in rows),
                "%.2f" % statistics.median((r[1] or 0) + r[2] + r[3] for r in rows)))
    if failed:
        log("  ! failed the correctness check: %s" % ", ".join(sorted(failed)))
    for k, (n, total) in sorted(frames.items()):
        if n:
            log("  %s: %d frames over the measured runs, %.0f KiB per frame on average" % (k, n, total / n / 1024))
    log("  pin: the proxy's process tree confined to CPU %d (client and target on CPUs %s)" % (
        pb.PIN_CPU, ",".join(map(str, pb.ALL_CPUS))))
    log("  all three: proxy + client + target CPU per GB, run by run. On loopback the kernel's TCP work for"
        " a receiver is often done on the sender's time (and the reverse), so the split between processes"
        " is approximate; the sum is what the machine spent")

    def med(k, pl, i):
        rows = runs.get((k, pl))
        vals = [r[i] for r in rows if r[i] is not None] if rows else []
        return statistics.median(vals) if vals else None

    def best(k, pl):
        rows = runs.get((k, pl))
        return max(r[0] for r in rows) if rows else None

    log("\nratios (same run; best MB/s over best, median CPU over median)")
    pairs = [(k, "socat") for k in kinds if k != "socat"] + [("splice", "copy"), ("copy", "ours"), ("splice", "ours"),
                                                                ("splice", "python"), ("ours", "python")]
    for pl in placements:
        for a, b in pairs:
            if a not in kinds or b not in kinds:
                continue
            ra = best(a, pl) / best(b, pl) if best(a, pl) and best(b, pl) else None
            ma, mb = med(a, pl, 1), med(b, pl, 1)
            rc = ma / mb if ma and mb else None
            log("  %-6s / %-6s t->b %6s   proxy CPU per GB %6s%s" % (
                a, b, pb.fmt(ra, "%.2fx"), pb.fmt(rc, "%.2fx"), "" if pl == "free" else "   (pinned)"))
    if "splice" in kinds and "socat" in kinds:
        judged = "pinned" if "pinned" in placements else "free"
        v = best("splice", judged) / best("socat", judged) if best("splice", judged) and best("socat", judged) else None
        w = best("splice", judged) / best("copy", judged) if "copy" in kinds and best("splice", judged) and best("copy", judged) else None
        d = best("direct", placements[0]) / best("socat", judged) if best("direct", placements[0]) and best("socat", judged) else None
        log("\nissue 18 §2 goal, %s harness: splice >= 1.3x socat t->b (%s): %s; splice / copy %s; "
            "the harness's own ceiling (direct, %s / socat, %s) %s" % (
                harness, judged, pb.fmt(v, "%.2fx"), pb.fmt(w, "%.2fx"), placements[0], judged, pb.fmt(d, "%.2fx")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--megabytes", type=int, default=512, help="MiB per throughput run (default 512)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per proxy and placement (default 5)")
    ap.add_argument("--only", default=",".join(KINDS), help="comma list of %s" % ",".join(KINDS))
    ap.add_argument("--placement", choices=("both", "free", "pinned"), default="both")
    ap.add_argument("--pipe-size", type=int, default=MiB, help="the probe's pipe and buffer size (default 1 MiB)")
    ap.add_argument("--harness", choices=("python", "lean", "both"), default="both",
                    help="client and target for the throughput part (default both, python first)")
    ap.add_argument("--check-only", action="store_true", help="run only the correctness checks")
    ap.add_argument("--_lean-target", action="store_true", help=pb.argparse.SUPPRESS)
    ap.add_argument("--skip-check", action="store_true", help="skip the correctness checks")
    args = ap.parse_args()
    if args._lean_target:
        try:
            lean_target()
        except KeyboardInterrupt:
            pass
        return 0
    kinds = [k.strip() for k in args.only.split(",") if k.strip()]
    for k in kinds:
        if k not in KINDS:
            ap.error("unknown proxy %r in --only" % k)
    if "ours" in kinds and not os.environ.get("WEBSOCKIFY_BIN"):
        ap.error("WEBSOCKIFY_BIN is not set (scripts/bench-splice sets it)")
    if ("splice" in kinds or "copy" in kinds) and not os.environ.get("SPLICE_PROBE_BIN"):
        ap.error("SPLICE_PROBE_BIN is not set (scripts/bench-splice sets it)")

    def log(s):
        print(s, flush=True)

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    for sig in (pb.signal.SIGINT, pb.signal.SIGTERM, pb.signal.SIGHUP):
        pb.signal.signal(sig, on_signal)

    tmp = tempfile.mkdtemp(prefix="splice-bench-", dir="/tmp")
    failed = {}
    try:
        log("splice benchmark  %s  (%d CPUs, load %.1f %.1f %.1f)" % (
            time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), os.cpu_count(), *os.getloadavg()))
        for k in kinds:
            log("  %-6s %s" % (k, {"ours": os.environ.get("WEBSOCKIFY_BIN"),
                                   "splice": os.environ.get("SPLICE_PROBE_BIN"), "copy": os.environ.get("SPLICE_PROBE_BIN"),
                                   "python": os.environ.get("PY_WEBSOCKIFY") or pb.shutil.which("websockify"),
                                   "socat": pb.shutil.which("socat")}[k]))
        if not args.skip_check:
            log("\n[1] correctness (a fresh proxy each)")
            failed = run_checks(kinds, tmp, args.pipe_size, log)
        if not args.check_only:
            harnesses = ["python", "lean"] if args.harness == "both" else [args.harness]
            results = []
            for harness in harnesses:
                log("\n[2] target->browser throughput, %s harness" % harness)
                results.append((harness, measure(kinds, args, tmp, log, harness)))
            for harness, (runs, placements, loads, frames) in results:
                report(kinds, runs, placements, loads, frames, failed, args, log, harness)
    except KeyboardInterrupt:
        log("\ninterrupted; stopping everything")
        return 130
    finally:
        pb.signal.signal(pb.signal.SIGINT, pb.signal.SIG_IGN)
        pb.signal.signal(pb.signal.SIGTERM, pb.signal.SIG_IGN)
        pb.stop_all()
        pb.shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
