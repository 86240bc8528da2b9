"""noVNC over TLS: headless Chromium loads noVNC from our own --web server over https:// and
connects with wss:// on the same --ssl-only port to a real x11vnc desktop, then types into it."""

from __future__ import annotations

import secrets

import pytest

from test_novnc import CONNECT_TIMEOUT, FILE_TIMEOUT, NOVNC_DIR, poll
from tlsutil import make_certs
from vncdesk import wait_for_port


@pytest.fixture
def chromium_extra_args() -> list[str]:
    # The test CA is not in Chromium's store; the certificate itself is checked by test_tls.py.
    return ["--ignore-certificate-errors"]


@pytest.mark.parametrize("page", ["vnc_lite.html", "vnc.html"])
def test_novnc_over_wss_from_our_web_server(page, request, tmp_path, vncdesk, free_port, start_process,
                                            chromium_driver):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    (tmp_path / "certs").mkdir()
    certs = make_certs(tmp_path / "certs")
    port = free_port()
    proxy = start_process([request.getfixturevalue("proxy_bin"), "--cert", certs.server_cert, "--key",
                           certs.server_key, "--ssl-only", "--web", NOVNC_DIR, f"127.0.0.1:{port}",
                           f"127.0.0.1:{vncdesk.vnc_port}"], name="proxy")
    wait_for_port(port, proxy)

    driver = chromium_driver
    query = f"host=127.0.0.1&port={port}&encrypt=1"
    if page == "vnc.html":
        query += "&autoconnect=1&resize=off"
    driver.get(f"https://127.0.0.1:{port}/{page}?{query}")
    if page == "vnc_lite.html":
        poll(lambda: driver.find_element(By.ID, "status").text, lambda text: text.startswith("Connected"),
             CONNECT_TIMEOUT, "noVNC #status to read 'Connected to ...'")
    else:
        # vnc.html hides its connect dialog and shows the canvas once the RFB session is up.
        poll(lambda: driver.execute_script(
            "return document.documentElement.classList.contains('noVNC_connected')"),
             bool, CONNECT_TIMEOUT, "vnc.html to be connected (html.noVNC_connected)")

    canvas = driver.find_element(By.CSS_SELECTOR, "#screen canvas" if page == "vnc_lite.html"
                                 else "#noVNC_container canvas")
    name = f"tls-{secrets.token_hex(4)}"
    ActionChains(driver).move_to_element(canvas).click().perform()
    ActionChains(driver).send_keys(f"touch {name}" + Keys.ENTER).perform()
    created = vncdesk.workdir / name
    poll(created.exists, bool, FILE_TIMEOUT, f"{created} to be created by the typed command")
    log = proxy.log_path.read_text()
    assert "session 1 open" in log
