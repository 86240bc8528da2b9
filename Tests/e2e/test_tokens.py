"""Token plugins against real clients: TokenFile/ReadOnlyTokenFile (file, directory, edits while
running, malformed lines), --host-token, token cookie, --target-config, JWTTokenApi (tokens signed by
PyJWT: HS, RS, PS and ES with SHA-256/384/512), TokenRedis with a real redis-server (and with Redis down)."""

import base64
import socket
import subprocess
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pluginutil import (  # noqa: F401 (targets and proxies are fixtures)
    RedisServer, curl_upgrade, log_has, proxies, targets, websocat_banner, websockets_banner)
from proxyutil import websockify_bin


# --- TokenFile --------------------------------------------------------------------------------

def test_token_file_routes_by_query_token_with_websocat_and_websockets(tmp_path, targets, proxies):
    a, b = targets
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# two desktops\n\nalpha: 127.0.0.1:{a.port}\nbeta: 127.0.0.1:{b.port}\n")
    proxy = proxies("--token-plugin=TokenFile", f"--token-source={tokens}")
    code, out = websocat_banner(proxy.url("/websockify?token=alpha"))
    assert code == 0 and out.startswith(b"A\n"), out
    assert websockets_banner(proxy.url("/any/path?x=1&token=beta")) == b"B\n"
    # The token cookie, when the query has none.
    assert websockets_banner(proxy.url("/websockify"), additional_headers={"Cookie": "theme=dark; token=alpha"}) == b"A\n"
    log_has(proxy, f"loaded 2 token(s) from {tokens}")


def test_unknown_and_missing_tokens_get_clear_http_errors_and_a_log_line(tmp_path, targets, proxies):
    a, _ = targets
    tokens = tmp_path / "tokens"
    tokens.write_text(f"alpha: 127.0.0.1:{a.port}\n")
    proxy = proxies("--token-plugin", "websockify.token_plugins.TokenFile", "--token-source", str(tokens))
    status, _, body = curl_upgrade(f"http://127.0.0.1:{proxy.port}/?token=nosuch")
    assert status == 404 and body.strip() == "Unknown token."
    log_has(proxy, "refused: 404 unknown token 'nosuch'")
    status, _, body = curl_upgrade(f"http://127.0.0.1:{proxy.port}/websockify")
    assert status == 400 and "token=" in body
    log_has(proxy, "refused: 400 no token in the request")
    # websocat is refused too, and the proxy goes on serving.
    code, _ = websocat_banner(proxy.url("/?token=nosuch"))
    assert code != 0
    assert websockets_banner(proxy.url("/?token=alpha")) == b"A\n"
    assert proxy.proc.poll() is None


def test_malformed_lines_are_skipped_and_logged_with_file_and_line(tmp_path, targets, proxies):
    a, b = targets
    tokens = tmp_path / "tokens.conf"
    tokens.write_text(f"alpha: 127.0.0.1:{a.port}\nbroken line\ngamma:127.0.0.1:1\n\nbad: 127.0.0.1:notaport\n"
                      f"beta: 127.0.0.1:{b.port}\n")
    proxy = proxies("--token-plugin=TokenFile", f"--token-source={tokens}")
    log_has(proxy, f"token file {tokens}:2: expected 'token: host:port'")
    log_has(proxy, f"token file {tokens}:3: expected 'token: host:port'")
    log_has(proxy, f"token file {tokens}:5: bad target for token")
    assert websockets_banner(proxy.url("/?token=beta")) == b"B\n"
    assert curl_upgrade(f"http://127.0.0.1:{proxy.port}/?token=gamma")[0] == 404


def test_token_file_edits_are_picked_up_without_restart(tmp_path, targets, proxies):
    a, b = targets
    tokens = tmp_path / "tokens"
    tokens.write_text(f"alpha: 127.0.0.1:{a.port}\n")
    proxy = proxies("--token-plugin=TokenFile", f"--token-source={tokens}")
    assert websockets_banner(proxy.url("/?token=alpha")) == b"A\n"
    # Rewritten in place (same inode), then replaced by a rename, as editors do.
    tokens.write_text(f"alpha: 127.0.0.1:{b.port}\nnew: 127.0.0.1:{a.port}\n")
    assert websockets_banner(proxy.url("/?token=alpha")) == b"B\n"
    assert websockets_banner(proxy.url("/?token=new")) == b"A\n"
    replacement = tmp_path / "tokens.tmp"
    replacement.write_text(f"other: 127.0.0.1:{a.port}\n")
    replacement.rename(tokens)
    assert curl_upgrade(f"http://127.0.0.1:{proxy.port}/?token=alpha")[0] == 404
    assert websockets_banner(proxy.url("/?token=other")) == b"A\n"
    log_has(proxy, f"reloaded 1 token(s) from {tokens}")


def test_token_directory_picks_up_new_and_changed_files(tmp_path, targets, proxies):
    a, b = targets
    directory = tmp_path / "tokens.d"
    directory.mkdir()
    (directory / "one.conf").write_text(f"alpha: 127.0.0.1:{a.port}\n")
    proxy = proxies("--token-plugin=TokenFile", f"--token-source={directory}")
    assert curl_upgrade(f"http://127.0.0.1:{proxy.port}/?token=beta")[0] == 404
    (directory / "two.conf").write_text(f"beta: 127.0.0.1:{b.port}\nbroken\n")
    assert websockets_banner(proxy.url("/?token=beta")) == b"B\n"
    log_has(proxy, f"token file {directory / 'two.conf'}:2:")
    (directory / "one.conf").write_text(f"alpha: 127.0.0.1:{b.port}\n")
    assert websockets_banner(proxy.url("/?token=alpha")) == b"B\n"


def test_read_only_token_file_reads_once(tmp_path, targets, proxies):
    a, b = targets
    tokens = tmp_path / "tokens"
    tokens.write_text(f"alpha: 127.0.0.1:{a.port}\n")
    proxy = proxies("--token-plugin=ReadOnlyTokenFile", f"--token-source={tokens}")
    tokens.write_text(f"alpha: 127.0.0.1:{b.port}\n")
    assert websockets_banner(proxy.url("/?token=alpha")) == b"A\n"


def test_target_config_is_the_deprecated_token_file_alias(tmp_path, targets, proxies):
    a, _ = targets
    tokens = tmp_path / "tokens"
    tokens.write_text(f"alpha: 127.0.0.1:{a.port}\n")
    proxy = proxies(f"--target-config={tokens}")
    code, out = websocat_banner(proxy.url("/?token=alpha"))
    assert code == 0 and out.startswith(b"A\n")


def test_host_token_uses_the_host_header(tmp_path, targets, proxies):
    a, b = targets
    tokens = tmp_path / "tokens"
    tokens.write_text(f"desk-a.example: 127.0.0.1:{a.port}\ndesk-b.example: 127.0.0.1:{b.port}\n")
    proxy = proxies("--token-plugin=TokenFile", f"--token-source={tokens}", "--host-token")
    # The URI names the desktop (so Host does); the socket goes to the proxy on loopback.
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    assert websockets_banner(f"ws://desk-b.example:{proxy.port}/?token=desk-a.example", sock=sock) == b"B\n"
    assert curl_upgrade(f"http://127.0.0.1:{proxy.port}/", "Host: desk-a.example", max_time=1)[0] == 101
    status, _, _ = curl_upgrade(f"http://127.0.0.1:{proxy.port}/?token=desk-a.example")
    assert status == 404  # Host is 127.0.0.1:port; the query is not consulted


@pytest.mark.parametrize("args, message", [
    (["--token-plugin=NoSuchPlugin", "--token-source=x"], "unknown plugin"),
    (["--token-plugin=TokenFile"], "needs --token-source"),
    (["--token-plugin=TokenFile", "--token-source=/nonexistent/tokens"], "/nonexistent/tokens"),
    (["--token-source=/tmp"], "You must use --token-plugin to use --token-source"),
    (["--host-token"], "You must use --token-plugin to use --host-token"),
    (["--token-plugin=TokenRedis", "--token-source=h:notaport"], "expected host[:port"),
    (["--token-plugin=JWTTokenApi", "--token-source=/nonexistent/key"], "cannot read the key file"),
])
def test_plugin_usage_errors_exit_2(args, message):
    out = subprocess.run([websockify_bin(), *args, "6080"], capture_output=True, timeout=10, text=True)
    assert out.returncode == 2, out
    assert message in out.stderr


def test_a_positional_target_with_a_token_plugin_is_a_usage_error(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("a: h:1\n")
    out = subprocess.run([websockify_bin(), "--token-plugin=TokenFile", f"--token-source={tokens}", "6080", "h:1"],
                         capture_output=True, timeout=10, text=True)
    assert out.returncode == 2 and "give no target" in out.stderr


# --- JWTTokenApi ------------------------------------------------------------------------------

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pem_public(private_key):
    return private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


EC_CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                       "ES256", "ES384", "ES512"])
def test_jwt_tokens_signed_by_pyjwt(tmp_path, targets, proxies, algorithm):
    a, b = targets
    key_file = tmp_path / "key"
    if algorithm.startswith("HS"):
        # One key file for every HS algorithm: 64 bytes are enough for HS512 (RFC 7518 §3.2).
        secret = b"a shared secret of 64 bytes, enough for HS256, HS384 and HS512!!"
        key_file.write_text(b64url(secret) + "\n")
        signing, wrong = secret, secret[::-1]
    elif algorithm[:2] in ("RS", "PS"):
        signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        wrong = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_file.write_bytes(pem_public(signing))
    else:
        signing, wrong = (ec.generate_private_key(EC_CURVES[algorithm]()) for _ in range(2))
        key_file.write_bytes(pem_public(signing))
    proxy = proxies("--token-plugin=JWTTokenApi", f"--token-source={key_file}")
    now = int(time.time())

    def url(claims, key=signing):
        return proxy.url("/?token=" + jwt.encode(claims, key, algorithm=algorithm))

    assert websockets_banner(url({"host": "127.0.0.1", "port": a.port})) == b"A\n"
    code, out = websocat_banner(url({"host": "127.0.0.1", "port": str(b.port), "nbf": now - 5, "exp": now + 60}))
    assert code == 0 and out.startswith(b"B\n"), out
    http = url({"host": "127.0.0.1", "port": a.port}).replace("ws://", "http://")
    assert curl_upgrade(http, max_time=1)[0] == 101
    for claims, key, why in [
        ({"host": "127.0.0.1", "port": a.port, "exp": now - 10}, signing, "expired"),
        ({"host": "127.0.0.1", "port": a.port, "nbf": now + 600}, signing, "not valid yet"),
        ({"host": "127.0.0.1", "port": a.port}, wrong, "bad signature"),
        ({"host": "127.0.0.1"}, signing, "'host' and 'port'"),
    ]:
        status, _, body = curl_upgrade(url(claims, key).replace("ws://", "http://"))
        assert status == 403 and why in body, (why, body)
        log_has(proxy, "refused: 403 invalid token: ")
        assert why in proxy.log_text()
    assert proxy.proc.poll() is None


def test_jwt_short_hs256_secret_is_refused_at_start(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(b64url(b"short"))
    out = subprocess.run([websockify_bin(), "--token-plugin=JWTTokenApi", f"--token-source={key_file}", "6080"],
                         capture_output=True, timeout=10, text=True)
    assert out.returncode == 2 and "at least 32" in out.stderr


# --- TokenRedis -------------------------------------------------------------------------------

@pytest.fixture
def redis(tmp_path):
    server = RedisServer(tmp_path, password="s3cret")
    yield server
    server.stop()


def test_redis_values_namespace_db_and_password(tmp_path, targets, proxies, redis):
    a, b = targets
    redis.cli("-n", "2", "SET", "app:json", f'{{"host": "127.0.0.1", "port": "{a.port}"}}')
    redis.cli("-n", "2", "SET", "app:legacy", f'{{"host": "127.0.0.1:{b.port}"}}')
    redis.cli("-n", "2", "SET", "app:plain", f"127.0.0.1:{a.port}")
    redis.cli("-n", "2", "SET", "app:broken", "no port here")
    redis.cli("-n", "0", "SET", "app:json", f"127.0.0.1:{b.port}")  # another db: must not be read
    proxy = proxies("--token-plugin=TokenRedis", f"--token-source=127.0.0.1:{redis.port}:2:s3cret:app")
    assert websockets_banner(proxy.url("/?token=json")) == b"A\n"
    code, out = websocat_banner(proxy.url("/?token=legacy"))
    assert code == 0 and out.startswith(b"B\n")
    assert websockets_banner(proxy.url("/websockify"), additional_headers={"Cookie": "token=plain"}) == b"A\n"
    status, _, body = curl_upgrade(f"http://127.0.0.1:{proxy.port}/?token=nosuch")
    assert status == 404 and "Unknown token" in body
    status, _, _ = curl_upgrade(f"http://127.0.0.1:{proxy.port}/?token=broken")
    assert status == 502
    log_has(proxy, "unusable value for token 'broken'")
    assert "s3cret" not in proxy.log_text()


def test_redis_wrong_password_is_a_clear_503(targets, proxies, redis):
    proxy = proxies("--token-plugin=TokenRedis", f"--token-source=127.0.0.1:{redis.port}:0:wrong")
    status, _, body = curl_upgrade(f"http://127.0.0.1:{proxy.port}/?token=x")
    assert status == 503 and "token store is unavailable" in body
    log_has(proxy, "refused AUTH")


def test_redis_down_refuses_each_connection_and_recovers(tmp_path, targets, proxies):
    a, _ = targets
    server = RedisServer(tmp_path)
    try:
        server.cli("SET", "alpha", f"127.0.0.1:{a.port}")
        proxy = proxies("--token-plugin=TokenRedis", f"--token-source=127.0.0.1:{server.port}")
        assert websockets_banner(proxy.url("/?token=alpha")) == b"A\n"
        # A session opened while Redis was up keeps running after Redis goes.
        from websockets.sync.client import connect
        with connect(proxy.url("/?token=alpha"), proxy=None, compression=None, open_timeout=5) as live:
            assert live.recv(timeout=5) == b"A\n"
            server.stop()
            for _ in range(3):
                status, _, body = curl_upgrade(f"http://127.0.0.1:{proxy.port}/?token=alpha")
                assert status == 503 and "try again later" in body
            # A warning naming the reason in words, not the library's error dump.
            log_has(proxy, "warning websockify: 127.0.0.1")
            log_has(proxy, f"token lookup failed: Redis at 127.0.0.1:{server.port}: cannot connect: connection refused")
            assert "SingleConnectionFailure" not in proxy.log_text() and "errno" not in proxy.log_text()
            live.send(b"still here")
            assert live.recv(timeout=5) == b"still here"
        assert proxy.proc.poll() is None
        # Redis back on the same port: lookups work again, no restart.
        server = RedisServer(tmp_path, port=server.port)
        server.cli("SET", "alpha", f"127.0.0.1:{a.port}")
        assert websockets_banner(proxy.url("/?token=alpha")) == b"A\n"
    finally:
        server.stop()
