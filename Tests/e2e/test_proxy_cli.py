"""Command line: websockify 0.13's argument errors exit 2 with usage; listen address forms."""

import re
import socket
import subprocess

import pytest

from proxyutil import RawClient, TcpTarget, free_port, target, wait_until, websockify_bin  # noqa: F401


@pytest.mark.parametrize("args", [
    ["6080"],
    ["6080", "localhost"],
    ["6080", "localhost:port"],
    ["99999", "localhost:5900"],
    ["--bogus", "6080", "localhost:5900"],
    ["--unix-target=/tmp/x.sock", "6080", "localhost:5900"],
])
def test_argument_errors_print_usage_and_exit_2(args):
    out = subprocess.run([websockify_bin(), *args], capture_output=True, timeout=10)
    assert out.returncode == 2, out
    assert b"Usage: websockify" in out.stderr


def test_help_exits_0_and_lists_options():
    out = subprocess.run([websockify_bin(), "--help"], capture_output=True, timeout=10)
    assert out.returncode == 0
    for option in [b"--unix-target", b"--prefer-ipv6", b"--verbose", b"--traffic", b"--run-once", b"--timeout",
                   b"--idle-timeout", b"--heartbeat", b"--log-file"]:
        assert option in out.stdout


# The invocation forms websockify 0.13 prints in its usage (a token plugin has no target argument),
# plus ours for --inetd/--unix-listen.
USAGE_FORMS = [
    "websockify [options] [source_addr:]source_port target_addr:target_port",
    "websockify [options] --token-plugin=CLASS [source_addr:]source_port",
    "websockify [options] --unix-target=FILE [source_addr:]source_port",
    "websockify [options] [source_addr:]source_port -- WRAP_COMMAND_LINE",
    "websockify [options] --inetd|--unix-listen=FILE target_addr:target_port",
]


def test_version_is_the_toolkit_version_for_all_three_tools():
    """websockify, wsreplay and wsrecord-inspect --version print the one version (the Debian package's)."""
    from pathlib import Path

    tools = Path(websockify_bin()).parent
    versions = [subprocess.run([str(tools / name), "--version"], capture_output=True, text=True, timeout=30)
                for name in ("websockify", "wsreplay", "wsrecord-inspect")]
    assert [v.returncode for v in versions] == [0, 0, 0], versions
    assert re.fullmatch(r"\d+\.\d+\.\d+\n", versions[0].stdout), versions[0].stdout
    assert versions[1].stdout == versions[2].stdout == versions[0].stdout


def usage_lines(text):
    """The lines of the USAGE:/Usage: block, without the header word."""
    block = re.search(r"^(?:USAGE|Usage): (.*?)\n(?:\n|  See )", text, re.M | re.S)
    assert block, text
    return [line.strip() for line in block.group(1).split("\n")]


def test_help_usage_lists_every_invocation_form():
    out = subprocess.run([websockify_bin(), "--help"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out
    assert usage_lines(out.stdout) == USAGE_FORMS


def test_argument_error_usage_lists_every_invocation_form():
    out = subprocess.run([websockify_bin(), "6080"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 2, out
    assert usage_lines(out.stderr) == USAGE_FORMS
    # The error itself names every way to give a target, the token plugin among them.
    assert "target_addr:target_port, --unix-target=FILE or --token-plugin=CLASS" in out.stderr, out.stderr


def test_port_in_use_fails_with_clear_message(target):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        out = subprocess.run([websockify_bin(), f"127.0.0.1:{port}", f"127.0.0.1:{target.port}"],
                             capture_output=True, timeout=10)
    assert out.returncode == 1
    # The reason in words, without the name of the NIO call that failed ("bind(descriptor:ptr:bytes:)").
    assert f"cannot listen on 127.0.0.1:{port}: address already in use\n".encode() in out.stderr, out.stderr
    assert b"descriptor" not in out.stderr


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_bracketed_ipv6_listen_address(target):
    if not ipv6_loopback_available():
        pytest.fail("this machine has no IPv6 loopback (::1); the IPv6 listen test needs it")
    port = free_port()
    proc = subprocess.Popen([websockify_bin(), f"[::1]:{port}", f"127.0.0.1:{target.port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def up():
            try:
                socket.create_connection(("::1", port), timeout=0.2).close()
                return True
            except OSError:
                return proc.poll() is not None and (_ for _ in ()).throw(AssertionError(proc.stderr.read()))
        wait_until(up, what="websockify on [::1]")
        with socket.create_connection(("::1", port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 404")
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
