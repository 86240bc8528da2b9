"""Auth plugins before the upgrade, with real clients: BasicHTTPAuth (401 + WWW-Authenticate, wrong
password, malformed header), ExpectOrigin (403 on other origins), ClientCertCNAuth (a forged
ssl_client_s_dn_cn header does not get in), and auth checked before any token lookup."""

import base64
import subprocess

import pytest
from websockets.exceptions import InvalidStatus

from pluginutil import curl_upgrade, log_has, named_target, websocat_banner, websockets_banner
from proxyutil import Proxy, websockify_bin


@pytest.fixture
def desk():
    t = named_target("A")
    yield t
    t.close()


@pytest.fixture
def proxy_with(desk):
    started = []

    def start(*args, target=True):
        p = Proxy([f"127.0.0.1:{desk.port}"] if target else [], extra=args)
        started.append(p)
        return p
    yield start
    for p in started:
        p.stop()


def basic(user_pass):
    return "Authorization: Basic " + base64.b64encode(user_pass.encode()).decode()


def test_basic_auth(proxy_with):
    proxy = proxy_with("--auth-plugin=BasicHTTPAuth", "--auth-source=alice:open:sesame")
    base = f"http://127.0.0.1:{proxy.port}/websockify"
    status, headers, _ = curl_upgrade(base)
    assert status == 401 and 'WWW-Authenticate: Basic realm="websockify"' in headers
    status, headers, _ = curl_upgrade(base, basic("alice:wrong"))
    assert status == 401 and "WWW-Authenticate" in headers
    log_has(proxy, "refused: 401 wrong credentials for user 'alice'")
    assert curl_upgrade(base, "Authorization: Basic %%%")[0] == 403
    assert curl_upgrade(base, "Authorization: Bearer abc")[0] == 403
    # Real clients with the right credentials get through.
    code, out = websocat_banner(proxy.url("/websockify"), ["--basic-auth", "alice:open:sesame"])
    assert code == 0 and out.startswith(b"A\n"), out
    auth = "Basic " + base64.b64encode(b"alice:open:sesame").decode()
    assert websockets_banner(proxy.url("/"), additional_headers={"Authorization": auth}) == b"A\n"
    with pytest.raises(InvalidStatus) as refused:
        websockets_banner(proxy.url("/"), additional_headers={"Authorization": "Basic " + base64.b64encode(b"alice:x").decode()})
    assert refused.value.response.status_code == 401
    assert "open:sesame" not in proxy.log_text()


def test_expect_origin(proxy_with):
    proxy = proxy_with("--auth-plugin=websockify.auth_plugins.ExpectOrigin",
                       "--auth-source=https://a.example https://b.example")
    code, out = websocat_banner(proxy.url("/"), ["--origin", "https://b.example"])
    assert code == 0 and out.startswith(b"A\n"), out
    assert websockets_banner(proxy.url("/"), origin="https://a.example") == b"A\n"
    status, _, body = curl_upgrade(f"http://127.0.0.1:{proxy.port}/", "Origin: https://evil.example")
    assert status == 403 and "Invalid Origin" in body
    log_has(proxy, "refused: 403 invalid Origin 'https://evil.example'; expected one of https://a.example https://b.example")
    assert curl_upgrade(f"http://127.0.0.1:{proxy.port}/")[0] == 403
    with pytest.raises(InvalidStatus):
        websockets_banner(proxy.url("/"), origin="https://a.example.evil")


def test_auth_is_checked_before_the_token_lookup(tmp_path, desk, proxy_with):
    tokens = tmp_path / "tokens"
    tokens.write_text(f"alpha: 127.0.0.1:{desk.port}\n")
    proxy = proxy_with("--auth-plugin=BasicHTTPAuth", "--auth-source=u:p", "--token-plugin=TokenFile",
                       f"--token-source={tokens}", target=False)
    assert curl_upgrade(f"http://127.0.0.1:{proxy.port}/?token=nosuch")[0] == 401
    assert curl_upgrade(f"http://127.0.0.1:{proxy.port}/?token=nosuch", basic("u:p"))[0] == 404
    code, out = websocat_banner(proxy.url("/?token=alpha"), ["--basic-auth", "u:p"])
    assert code == 0 and out.startswith(b"A\n")


@pytest.mark.parametrize("args, message", [
    (["--auth-plugin=NoSuchAuth", "--auth-source=x"], "unknown plugin"),
    (["--auth-plugin=BasicHTTPAuth"], "needs --auth-source"),
    (["--auth-plugin=BasicHTTPAuth", "--auth-source=nocolon"], "user:password"),
    (["--auth-source=u:p"], "You must use --auth-plugin to use --auth-source"),
    (["--auth-plugin=ClientCertCNAuth", "--auth-source=alice"], "needs --verify-client"),
])
def test_auth_usage_errors_exit_2(args, message):
    out = subprocess.run([websockify_bin(), *args, "6080", "127.0.0.1:1"], capture_output=True, timeout=10, text=True)
    assert out.returncode == 2, out
    assert message in out.stderr


def test_web_auth_protects_the_web_server_too(proxy_with, tmp_path):
    (tmp_path / "index.html").write_text("<p>desk</p>\n")
    protected = proxy_with("--auth-plugin=BasicHTTPAuth", "--auth-source=u:p", f"--web={tmp_path}", "--web-auth")
    open_web = proxy_with("--auth-plugin=BasicHTTPAuth", "--auth-source=u:p", f"--web={tmp_path}")

    def get(proxy, *headers):
        args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"http://127.0.0.1:{proxy.port}/"]
        for h in headers:
            args += ["-H", h]
        return int(subprocess.run(args, capture_output=True, text=True, timeout=10).stdout)

    assert get(protected) == 401
    assert get(protected, basic("u:wrong")) == 401
    assert get(protected, basic("u:p")) == 200
    # Without --web-auth, pages are public while the WebSocket still needs the password.
    assert get(open_web) == 200
    assert curl_upgrade(f"http://127.0.0.1:{open_web.port}/")[0] == 401
    code, out = websocat_banner(protected.url("/"), ["--basic-auth", "u:p"])
    assert code == 0 and out.startswith(b"A\n")
