"""contrib/ systemd units parse with systemd-analyze verify; docs/man has a page per executable
that names every option the built binary has (regenerate with scripts/gen-man)."""

import os
import re
import shutil
import subprocess

import pytest

from proxyutil import REPO_ROOT, websockify_bin

UNITS = ["websockify.service", "websockify-activated.socket", "websockify-activated.service"]


def verify(directory, names):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.fail("systemd-analyze not found: install Debian's systemd package (scripts/install-deps)")
    return subprocess.run([analyze, "verify", "--man=no", *[str(directory / n) for n in names]],
                          capture_output=True, text=True, timeout=60)


def copy_units(tmp_path):
    """The units with ExecStart pointing at the built binary (verify checks that it is executable)."""
    for name in UNITS:
        text = open(os.path.join(REPO_ROOT, "contrib", name)).read()
        (tmp_path / name).write_text(text.replace("/usr/local/bin/websockify", websockify_bin()))


def test_units_verify(tmp_path):
    copy_units(tmp_path)
    out = verify(tmp_path, UNITS)
    assert out.returncode == 0 and not out.stdout.strip() and not out.stderr.strip(), out


def test_a_broken_unit_is_caught(tmp_path):
    copy_units(tmp_path)
    service = tmp_path / "websockify.service"
    service.write_text(service.read_text().replace(websockify_bin(), str(tmp_path / "missing-binary")))
    out = verify(tmp_path, ["websockify.service"])
    assert out.returncode != 0 and "missing-binary" in out.stderr, out


def test_socket_activated_service_gets_the_socket_on_stdin():
    text = open(os.path.join(REPO_ROOT, "contrib", "websockify-activated.service")).read()
    assert re.search(r"^ExecStart=\S+ --inetd ", text, re.M)
    assert "StandardInput=socket" in text and "StandardOutput=journal" in text
    assert "Accept=no" in open(os.path.join(REPO_ROOT, "contrib", "websockify-activated.socket")).read()


@pytest.mark.parametrize("tool", ["websockify", "wsreplay", "wsrecord-inspect"])
def test_man_page_names_every_option(tool):
    binary = os.path.join(os.path.dirname(websockify_bin()), tool)
    helptext = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10).stdout
    # Option entries start their line: "  -v, --verbose  …" or "  --timeout <TIMEOUT>  …".
    options = set(re.findall(r"^\s+(?:-\w, )?--([a-z0-9][a-z0-9-]*)", helptext, re.M))
    assert options, helptext
    page = os.path.join(REPO_ROOT, "docs", "man", f"{tool}.1")
    assert os.path.isfile(page), f"{page} missing: run scripts/gen-man"
    text = open(page).read()
    missing = sorted(o for o in options if f"Fl -{o}" not in text)
    assert not missing, f"{page} lacks {missing}: run scripts/gen-man and commit docs/man"
