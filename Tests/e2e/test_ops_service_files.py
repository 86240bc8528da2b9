"""contrib/ systemd units parse with systemd-analyze verify and give the sandboxed service the directories
its recordings and log file need (the man pages are checked by test_man_pages.py)."""

import os
import re
import shutil
import subprocess

import pytest

from proxyutil import REPO_ROOT, free_port, websockify_bin

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


def unit_settings(name):
    """KEY -> [values] of a unit's lines (comments left out)."""
    settings = {}
    for line in open(os.path.join(REPO_ROOT, "contrib", name)).read().split("\n"):
        m = re.match(r"^(\w+)=(.*)$", line)
        if m:
            settings.setdefault(m.group(1), []).append(m.group(2))
    return settings


def recording_example(name="websockify.service"):
    """The ExecStart with --record and --log-file that the unit's comments show."""
    examples = re.findall(r"^#\s+(ExecStart=\S+ .*--record=.*)$", open(os.path.join(REPO_ROOT, "contrib", name)).read(),
                          re.M)
    assert len(examples) == 1, examples
    return examples[0]


@pytest.mark.parametrize("name", ["websockify.service", "websockify-activated.service"])
def test_services_can_write_recordings_and_logs(name):
    """DynamicUser + ProtectSystem=strict leave nothing writable but the unit's own directories."""
    settings = unit_settings(name)
    assert settings["DynamicUser"] == ["yes"] and settings["ProtectSystem"] == ["strict"]
    assert settings.get("StateDirectory") == ["websockify"], settings
    assert settings.get("LogsDirectory") == ["websockify"], settings
    # relative --record/--log-file paths land in the state directory, not in the read-only /
    assert settings.get("WorkingDirectory") == ["%S/websockify"], settings


def test_recording_example_writes_under_the_units_directories(tmp_path):
    settings = unit_settings("websockify.service")
    example = recording_example()
    record = re.search(r"--record=(\S+)", example).group(1)
    log_file = re.search(r"--log-file=(\S+)", example).group(1)
    # For system units %S is /var/lib and %L is /var/log (systemd.unit(5), "Specifiers").
    assert os.path.dirname(record) == "/var/lib/" + settings["StateDirectory"][0], record
    assert os.path.dirname(log_file) == "/var/log/" + settings["LogsDirectory"][0], log_file
    # The example is a valid ExecStart of this unit: verify the unit with it in place of the plain one.
    copy_units(tmp_path)
    service = tmp_path / "websockify.service"
    text = service.read_text()
    plain = re.search(r"^ExecStart=.*$", text, re.M).group(0)
    service.write_text(text.replace(plain, example.replace("/usr/local/bin/websockify", websockify_bin()), 1))
    out = verify(tmp_path, UNITS)
    assert out.returncode == 0 and not out.stdout.strip() and not out.stderr.strip(), out
    # And it runs: the same line with the two directories moved under tmp_path and a free port, stopped by
    # --timeout, writes the recording and the log file where the comments say.
    state, logs = tmp_path / "lib", tmp_path / "log"
    state.mkdir()
    logs.mkdir()
    args = example.split(None, 1)[1].replace(os.path.dirname(record), str(state)) \
        .replace(os.path.dirname(log_file), str(logs)).split()
    assert args[-2] == "6080", args
    args[-2] = f"127.0.0.1:{free_port()}"
    run = subprocess.run([websockify_bin(), "--timeout=0.5", *args], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run
    assert (state / (os.path.basename(record) + ".rec")).stat().st_size > 0
    assert "listening on" in (logs / os.path.basename(log_file)).read_text()
