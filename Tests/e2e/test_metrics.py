"""--metrics-listen scraped by a real Prometheus (Debian's `prometheus`, started here on loopback with
a config of its own): the test drives known sessions through websockify — good ones with known bytes,
refusals for each reason, a target that is down, a token store that is down — and through wsreplay
(a matching and a diverging client), then asks Prometheus' HTTP API for the series and compares them
with what it did. The endpoint itself: only GET /metrics, 404 elsewhere, loopback by default."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from proxyutil import (
    Proxy, RawClient, TcpTarget, free_port, http_request, upgrade_request, wait_until, websockify_bin, ws_expect)
from replayutil import finish, read_report, wsreplay_bin
from test_replay_cli import close_normally, record_echo_session, start_replay
from tlsutil import make_certs
from vncdesk import stop_tree, wait_for_port


class Prometheus:
    """A Prometheus server on a free loopback port scraping `targets` every 500 ms."""

    def __init__(self, tmp_path: Path, targets: list[str]):
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail("prometheus not found: run scripts/install-deps (Debian package 'prometheus')")
        self.port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 500ms\n  scrape_timeout: 400ms\n"
            "scrape_configs:\n  - job_name: websockify\n    static_configs:\n"
            f"      - targets: {json.dumps(targets)}\n")
        self.log_path = tmp_path / "prometheus.log"
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.proc, timeout=30)

    def query(self, expression: str) -> dict[tuple, float]:
        """The instant vector of `expression`: {sorted label pairs without __name__: value}."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
        with urllib.request.urlopen(url, timeout=5) as answer:
            body = json.load(answer)
        assert body["status"] == "success", body
        return {tuple(sorted((k, v) for k, v in r["metric"].items() if k != "__name__")): float(r["value"][1])
                for r in body["data"]["result"]}

    def metadata(self, metric: str) -> list[dict]:
        """What Prometheus learnt of `metric` from the scrapes' # TYPE and # HELP lines."""
        url = f"http://127.0.0.1:{self.port}/api/v1/metadata?" + urllib.parse.urlencode({"metric": metric})
        with urllib.request.urlopen(url, timeout=5) as answer:
            body = json.load(answer)
        assert body["status"] == "success", body
        return body["data"].get(metric, [])

    def value(self, expression: str) -> float | None:
        found = self.query(expression)
        assert len(found) <= 1, f"{expression} matched several series: {found}"
        return next(iter(found.values()), None)

    def wait_for_scrape_after(self, instance: str, moment: float, timeout: float = 30.0) -> None:
        """Waits until `instance` was scraped successfully at least once after `moment` (time.time())."""
        def scraped():
            when = self.value(f'timestamp(up{{instance="{instance}"}} == 1)')
            return when is not None and when > moment
        wait_until(scraped, timeout=timeout, interval=0.2, what=f"Prometheus to scrape {instance}")

    def stop(self):
        stop_tree(self.proc)


def metrics_text(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        assert answer.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        return answer.read().decode()


def descriptor_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no 'Max open files' in /proc/PID/limits")


def echo_session(port: int, payload: bytes, auth: str) -> None:
    """One session: a binary frame of `payload`, its echo, a 1000 close from the client."""
    client = RawClient(port, protocols=["binary"], path="/?token=good", extra=f"Authorization: Basic {auth}\r\n")
    client.send_frame(2, payload)
    ws_expect(client, payload, "the echo")
    close_normally(client)


def test_prometheus_scrapes_what_the_sessions_did(tmp_path):
    target = TcpTarget()
    dead_port = free_port()  # nothing listens here: the target that is down, and the Redis that is down
    tokens = tmp_path / "tokens"
    tokens.write_text(f"good: 127.0.0.1:{target.port}\ndead: 127.0.0.1:{dead_port}\n")
    certs = make_certs(tmp_path)
    metrics_a, metrics_b = free_port(), free_port()
    record = tmp_path / "sessions"
    proxy = Proxy([], extra=[
        f"--metrics-listen={metrics_a}", "--token-plugin=TokenFile", f"--token-source={tokens}",
        "--auth-plugin=BasicHTTPAuth", "--auth-source=alice:sesame", f"--cert={certs.server_combined}",
        f"--record={record}"])
    down = Proxy([], extra=[
        f"--metrics-listen=127.0.0.1:{metrics_b}", "--token-plugin=TokenRedis", f"--token-source=127.0.0.1:{dead_port}"])
    instance_a, instance_b = f"127.0.0.1:{metrics_a}", f"127.0.0.1:{metrics_b}"
    prometheus = Prometheus(tmp_path, [instance_a, instance_b])
    try:
        good = base64.b64encode(b"alice:sesame").decode()
        wrong = base64.b64encode(b"alice:guess").decode()
        payloads = [b"a" * 100, b"b" * 200, b"c" * 300]
        for payload in payloads:
            echo_session(proxy.port, payload, good)

        def upgrade(path: str, auth: str = good) -> int:
            status, _, _ = http_request(proxy.port, upgrade_request(path=path, extra=f"Authorization: Basic {auth}\r\n"))
            return status

        assert upgrade("/?token=nosuch") == 404
        assert upgrade("/?token=other") == 404
        assert upgrade("/?token=good", wrong) == 401
        # No Sec-WebSocket-Key: not a valid opening handshake.
        status, _, _ = http_request(
            proxy.port, b"GET /?token=good HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n")
        assert status == 400
        # A TLS record that is no ClientHello: the handshake fails.
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as raw:
            raw.sendall(b"\x16\x03\x01\x00\x05hello")
            raw.settimeout(5)
            try:
                while raw.recv(4096):
                    pass
            except ConnectionResetError:
                pass
        # The target is down: the session is accepted, then closed by the proxy with 1011.
        client = RawClient(proxy.port, protocols=["binary"], path="/?token=dead", extra=f"Authorization: Basic {good}\r\n")
        unreachable = client.read_until_close()
        assert unreachable == (1011, "target unreachable")
        client.close()
        # The token store is down: 503, twice.
        for _ in range(2):
            status, _, _ = http_request(down.port, upgrade_request(path="/?token=x"))
            assert status == 503
        wait_until(lambda: proxy.log_text().count(" closed by ") == 4, what="the sessions to end")
        done = time.time()
        prometheus.wait_for_scrape_after(instance_a, done)
        prometheus.wait_for_scrape_after(instance_b, done)

        def series(name: str, instance: str = instance_a, **labels) -> float | None:
            selector = ",".join([f'instance="{instance}"'] + [f'{k}="{v}"' for k, v in labels.items()])
            return prometheus.value(f"{name}{{{selector}}}")

        assert series("websockify_sessions_open") == 0
        # The queries docs/deploy.md suggests are valid PromQL over these series.
        assert prometheus.query(f'sum by (instance) (websockify_sessions_open{{instance="{instance_a}"}})')
        prometheus.query("sum by (reason) (rate(websockify_sessions_refused_total[5m]))")
        prometheus.query('rate(websockify_token_lookups_total{result="store_down"}[1m]) > 0')
        prometheus.query("histogram_quantile(0.99, sum by (le) (rate(websockify_handshake_duration_seconds_bucket[5m])))")
        assert prometheus.query(f'process_max_fds{{instance="{instance_a}"}} - process_open_fds')
        assert prometheus.metadata("websockify_sessions_refused_total") == [
            {"type": "counter", "help": "WebSocket requests refused before a session began, by reason.", "unit": ""}]
        assert prometheus.metadata("websockify_handshake_duration_seconds")[0]["type"] == "histogram"
        assert series("websockify_sessions_total", closed_by="client") == 3
        assert series("websockify_sessions_total", closed_by="proxy") == 1
        assert series("websockify_sessions_total", closed_by="target") == 0
        assert series("websockify_target_connect_failures_total") == 1
        refused = {reason: series("websockify_sessions_refused_total", reason=reason)
                   for reason in ("auth", "unknown_token", "bad_token", "token_store_down", "bad_handshake", "tls")}
        assert refused == {"auth": 1, "unknown_token": 2, "bad_token": 0, "token_store_down": 0,
                           "bad_handshake": 1, "tls": 1}
        assert series("websockify_sessions_refused_total", instance_b, reason="token_store_down") == 2
        # Payload bytes: each message and its echo; the close frames' codes (2 bytes) both ways; the
        # proxy's 1011 with its reason to the client whose target was down.
        sent = sum(len(p) for p in payloads)
        assert series("websockify_bytes_total", direction="client_to_target") == sent + 2 * 3
        assert series("websockify_bytes_total", direction="target_to_client") == sent + 2 * 3 + 2 + len("target unreachable")
        assert series("websockify_frames_total", direction="client_to_target") == 3 + 3
        assert series("websockify_frames_total", direction="target_to_client") == 3 + 3 + 1
        assert series("websockify_session_duration_seconds_count") == 4
        assert series("websockify_handshake_duration_seconds_count") == 4
        assert series("websockify_handshake_duration_seconds_bucket", le="+Inf") == 4
        assert series("websockify_token_lookups_total", plugin="TokenFile", result="found") == 4
        assert series("websockify_token_lookups_total", plugin="TokenFile", result="unknown") == 2
        assert series("websockify_token_lookup_duration_seconds_count", plugin="TokenFile") == 6
        assert series("websockify_token_lookups_total", instance_b, plugin="TokenRedis", result="store_down") == 2
        assert series("process_max_fds") == descriptor_limit(proxy.proc.pid)
        assert 0 < series("process_open_fds") < descriptor_limit(proxy.proc.pid)
        # The recording: nothing dropped or lost, nothing waiting, and what was written is the file
        # (once the writer has sealed the last block).
        assert series("websockify_recording_dropped_records_total") == 0
        assert series("websockify_recording_gaps_total") == 0
        assert series("websockify_recording_queue_records") == 0
        recording = record.with_name(record.name + ".rec")
        wait_until(lambda: series("websockify_recording_written_bytes_total") == recording.stat().st_size > 0,
                   timeout=30, interval=0.3, what="the scraped bytes written to equal the recording's size")
    finally:
        prometheus.stop()
        proxy.stop()
        down.stop()
        target.close()


def test_the_endpoint_serves_only_get_metrics_and_listens_on_loopback_by_default(tmp_path):
    target = TcpTarget()
    port = free_port()
    proxy = Proxy([f"127.0.0.1:{target.port}"], extra=[f"--metrics-listen={port}"])
    try:
        text = metrics_text(port)
        assert "# TYPE websockify_sessions_total counter" in text
        assert "# TYPE websockify_session_duration_seconds histogram" in text
        status, _, _ = http_request(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert status == 404
        status, headers, _ = http_request(
            port, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        assert status == 405 and headers.get("allow") == ["GET, HEAD"]
        listening = subprocess.run(["ss", "-Htln", f"sport = :{port}"], capture_output=True, text=True).stdout
        assert f"127.0.0.1:{port}" in listening, listening
        assert f"metrics at http://127.0.0.1:{port}/metrics" in proxy.log_text()
    finally:
        proxy.stop()
        target.close()


def test_a_metrics_port_in_use_stops_websockify_at_start(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proxy = Proxy(["127.0.0.1:1"], extra=[f"--metrics-listen={port}"], wait=False)
        try:
            assert proxy.proc.wait(timeout=20) == 1
            assert f"cannot listen for metrics on {port}" in proxy.log_text()
        finally:
            proxy.stop()


def test_a_bad_metrics_address_is_a_usage_error():
    result = subprocess.run([websockify_bin(), "--metrics-listen=localhost:http",
                             "6080", "127.0.0.1:5900"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "--metrics-listen localhost:http: port is not a number" in result.stderr


def test_prometheus_scrapes_wsreplay_sessions_and_divergences(tmp_path):
    recording = record_echo_session(tmp_path, [b"hello ", b"world"])
    metrics_port = free_port()
    report = tmp_path / "report.json"
    proc, port = start_replay(tmp_path, recording, "--loop", "--wait-timeout", "2", "--report", str(report),
                              f"--metrics-listen={metrics_port}")
    instance = f"127.0.0.1:{metrics_port}"
    prometheus = Prometheus(tmp_path, [instance])
    try:
        matching = RawClient(port, protocols=["binary"], timeout=15)
        for message in (b"hello ", b"world"):
            matching.send_frame(2, message)
            ws_expect(matching, message, "the recorded answer")
        close_normally(matching)
        diverging = RawClient(port, protocols=["binary"], timeout=15)
        diverging.send_frame(2, b"hello ")
        ws_expect(diverging, b"hello ", "the recorded answer")
        diverging.send_frame(2, b"wOrld")
        ws_expect(diverging, b"world", "the recorded answer, played anyway")
        close_normally(diverging)
        wait_until(lambda: prometheus.value(f'sum(wsreplay_sessions_total{{instance="{instance}"}})') == 2,
                   timeout=30, interval=0.2, what="both replayed sessions to be scraped")
        scraped = prometheus.query(f'wsreplay_divergences_total{{instance="{instance}"}} > 0')
        results = prometheus.query(f'wsreplay_sessions_total{{instance="{instance}"}}')
        proxied = prometheus.value(f'websockify_sessions_total{{instance="{instance}",closed_by="client"}}')
    finally:
        prometheus.stop()
        proc.terminate()
    finish(proc)
    played = read_report(report)
    kinds: dict[str, int] = {}
    for divergence in played["divergences"]:
        kinds[divergence["kind"]] = kinds.get(divergence["kind"], 0) + 1
    assert kinds and "mismatch" in kinds
    assert {dict(labels)["kind"]: value for labels, value in scraped.items()} == kinds
    assert {dict(labels)["result"]: value for labels, value in results.items()} == {"matched": 1, "diverged": 1}
    assert proxied == 2
