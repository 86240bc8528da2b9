"""scripts/package-deb: the Debian package, built from the debug build (--bin-dir, so CI does not
build a release; --compression zstd, ~50x faster than xz for the ~180 MB a debug build unpacks to),
read with dpkg-deb, installed with dpkg into a temporary root and run from there.

The install is `dpkg --root=ROOT --force-script-chrootless --force-depends`: ROOT holds an empty dpkg
database, so the libraries the package depends on are the host's (--force-depends), and the
maintainer scripts run on the host with DPKG_ROOT=ROOT instead of chrooted into a root without a
shell (the postinst's systemd-sysusers --root and the postrm's userdel --prefix follow DPKG_ROOT).
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from proxyutil import REPO_ROOT, Proxy, RawClient, TcpTarget, wait_until, websockify_bin, ws_round_trip
from vncdesk import pick_free_port

SCRIPT = os.path.join(REPO_ROOT, "scripts", "package-deb")
TOOLS = ["websockify", "wsreplay", "wsrecord-inspect"]
UNITS = ["websockify.service", "websockify-activated.service", "websockify-activated.socket"]
RUNTIME = "usr/lib/websockify-swift"
REBIND = "usr/lib/websockify/librebind.so"
DOC = "usr/share/doc/websockify-swift"


def require(tool, package):
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} not found: install Debian's {package} (scripts/install-deps)")
    return path


def run(args, **kw):
    out = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=kw.pop("timeout", 120), **kw)
    assert out.returncode == 0, f"{args} exited {out.returncode}:\n{out.stdout}\n{out.stderr}"
    return out.stdout


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    for tool, package in (("dpkg-deb", "dpkg"), ("dpkg-shlibdeps", "dpkg-dev"), ("patchelf", "patchelf")):
        require(tool, package)
    out = tmp_path_factory.mktemp("deb")
    printed = run([SCRIPT, "--bin-dir", os.path.dirname(websockify_bin()), "-o", out, "--compression", "zstd"],
                  timeout=110)
    [path] = list(out.glob("*.deb"))
    assert f"wrote {path}" in printed, printed
    return path


def fields(deb):
    text = run(["dpkg-deb", "--field", deb])
    return dict(re.findall(r"^(\S+): (.*(?:\n .*)*)$", text, re.M))


def contents(deb):
    """path -> (mode string, owner/group), from dpkg-deb --contents."""
    listing = {}
    for line in run(["dpkg-deb", "--contents", deb]).splitlines():
        mode, owner, _size, _date, _time, path = line.split(None, 5)
        listing[path.removeprefix("./").rstrip("/")] = (mode, owner)
    return listing


def tools_version():
    return run([Path(websockify_bin()).parent / "wsrecord-inspect", "--version"]).strip()


def dpkg_root(root, *args):
    return run(["dpkg", f"--root={root}", f"--log={root}/var/log/dpkg.log", "--force-script-chrootless",
                "--force-not-root", *args])


def empty_root(root):
    """A root with an empty dpkg database and an /etc (systemd-sysusers writes passwd and group there)."""
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "var/log", "etc"):
        (root / d).mkdir(parents=True)
    for f in ("status", "available"):
        (root / "var/lib/dpkg" / f).touch()
    return root


@pytest.fixture(scope="module")
def host_accounts():
    """/etc/passwd and /etc/group before anything was installed: no test may change them."""
    return Path("/etc/passwd").read_text(), Path("/etc/group").read_text()


@pytest.fixture(scope="module")
def root(deb, tmp_path_factory, host_accounts):
    root = empty_root(tmp_path_factory.mktemp("root") / "root")
    dpkg_root(root, "--force-depends", "--install", deb)
    return root


# ---------------------------------------------------------------- the package file


def test_control_fields(deb):
    f = fields(deb)
    assert f["Package"] == "websockify-swift"
    assert f["Version"] == tools_version()
    assert f["Architecture"] == run(["dpkg", "--print-architecture"]).strip()
    assert deb.name == f"websockify-swift_{f['Version']}_{f['Architecture']}.deb"
    # Debian's /usr/bin/websockify (python3-websockify), websockify.1.gz and rebind (websockify) are replaced
    assert f["Provides"] == "websockify"
    assert f["Conflicts"] == f["Replaces"] == "websockify, python3-websockify"
    depends = [d.strip() for d in f["Depends"].split(",")]
    assert any(d.startswith("libc6 (>= ") for d in depends), depends
    assert "adduser | systemd" in depends, depends
    # A web client to serve with --web=/usr/share/novnc; what `wsrecord-inspect render --video` runs,
    # and the font its --timestamp burns in.
    assert f["Suggests"] == "novnc, ffmpeg, fonts-dejavu-core"
    # the Swift runtime is in the package, not a dependency
    assert not [d for d in depends if "swift" in d.lower() or "foundation" in d.lower()], depends
    assert int(f["Installed-Size"]) > 1000


def test_contents(deb):
    listing = contents(deb)
    expected_files = {
        **{f"usr/bin/{t}": "-rwxr-xr-x" for t in TOOLS},
        REBIND: "-rw-r--r--",
        **{f"lib/systemd/system/{u}": "-rw-r--r--" for u in UNITS},
        "usr/lib/sysusers.d/websockify-swift.conf": "-rw-r--r--",
        **{f"usr/share/man/man1/{t}.1.gz": "-rw-r--r--" for t in TOOLS},
        f"{DOC}/copyright": "-rw-r--r--",
        f"{DOC}/changelog.gz": "-rw-r--r--",
        f"{DOC}/examples/haproxy/websockify.cfg": "-rw-r--r--",
        f"{DOC}/examples/nginx/websockify.conf": "-rw-r--r--",
        f"{DOC}/licenses/swift/LICENSE.txt": "-rw-r--r--",
        f"{DOC}/licenses/swift-nio/LICENSE.txt": "-rw-r--r--",
    }
    for path, mode in expected_files.items():
        assert path in listing, f"{path} missing from the package"
        assert listing[path] == (mode, "root/root"), (path, listing[path])
    assert listing[f"{RUNTIME}/libswiftCore.so"] == ("-rw-r--r--", "root/root")
    # the units are installed, not repeated among the examples
    assert not [p for p in listing if p.startswith(f"{DOC}/examples/") and p.endswith((".service", ".socket"))]
    places = ("usr/bin/", "usr/lib/websockify/", f"{RUNTIME}/", "lib/systemd/system/", "usr/lib/sysusers.d/",
              "usr/share/man/man1/", f"{DOC}/")
    strays = [p for p, (mode, _) in listing.items() if not mode.startswith("d") and not p.startswith(places)]
    assert not strays, strays
    assert all(owner == "root/root" for _, owner in listing.values())


def test_copyright_names_every_resolved_package(deb, tmp_path):
    run(["dpkg-deb", "-x", deb, tmp_path])
    text = (tmp_path / DOC / "copyright").read_text()
    assert text.startswith("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/")
    pins = json.loads(Path(REPO_ROOT, "Package.resolved").read_text())["pins"]
    for pin in pins:
        assert f"Files: {pin['identity']}/*" in text, pin["identity"]
        assert list((tmp_path / DOC / "licenses" / pin["identity"]).iterdir()), pin["identity"]


def test_binaries_are_stripped_and_carry_their_runtime(deb, tmp_path):
    run(["dpkg-deb", "-x", deb, tmp_path])
    for tool in TOOLS:
        binary = tmp_path / "usr/bin" / tool
        sections = run(["readelf", "-S", "-W", binary])
        assert ".symtab" not in sections and ".debug_info" not in sections, f"{tool} is not stripped"
        dynamic = run(["readelf", "-d", binary])
        runpaths = re.findall(r"\((?:RUNPATH|RPATH)\).*\[(.*)\]", dynamic)
        needed = re.findall(r"\(NEEDED\).*\[(.*)\]", dynamic)
        private = [n for n in needed if (tmp_path / RUNTIME / n).exists()]
        if private:  # a build that links the Swift runtime dynamically (swift build, not --static-swift-stdlib)
            assert runpaths == ["$ORIGIN/../lib/websockify-swift"], runpaths
        else:
            assert runpaths == [], runpaths
    # librebind.so is preloaded into any program: C only, no Swift runtime
    dynamic = run(["readelf", "-d", tmp_path / REBIND])
    needed = set(re.findall(r"\(NEEDED\).*\[(.*)\]", dynamic))
    assert needed <= {"libc.so.6", "libdl.so.2"}, needed
    assert "swift" not in run(["nm", "-D", "--undefined-only", tmp_path / REBIND])
    assert ".symtab" not in run(["readelf", "-S", "-W", tmp_path / REBIND])


def test_a_missing_build_is_a_clear_error(tmp_path):
    out = subprocess.run([SCRIPT, "--bin-dir", tmp_path, "-o", tmp_path], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out
    assert out.stderr.startswith("package-deb: ") and str(tmp_path / "wsrecord-inspect") in out.stderr, out.stderr
    assert not list(tmp_path.glob("*.deb"))


# ---------------------------------------------------------------- installed into a root


def test_dpkg_installs_it_and_makes_the_system_user(root, host_accounts):
    status = run(["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f=${Status} ${Version}",
                  "websockify-swift"])
    assert status == f"install ok installed {tools_version()}"
    [user] = [line for line in (root / "etc/passwd").read_text().splitlines() if line.startswith("websockify:")]
    name, _, uid, gid, _, home, shell = user.split(":")
    assert int(uid) < 1000 and home == "/var/lib/websockify" and shell == "/usr/sbin/nologin", user
    assert re.search(rf"^websockify:x:{gid}:", (root / "etc/group").read_text(), re.M)
    # the maintainer scripts touched the root, not this machine
    assert (Path("/etc/passwd").read_text(), Path("/etc/group").read_text()) == host_accounts


def test_installed_tools_run_and_load_only_packaged_or_depended_libraries(root, deb):
    for tool in TOOLS:
        assert run([root / "usr/bin" / tool, "--help"]).startswith("OVERVIEW: ")
    for tool in TOOLS:
        assert run([root / "usr/bin" / tool, "--version"]).strip() == fields(deb)["Version"]
    depended = {re.split(r"[ (]", d.strip())[0] for d in re.split(r"[,|]", fields(deb)["Depends"])}
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    for elf in [*(root / "usr/bin" / t for t in TOOLS), root / REBIND]:
        for line in run(["ldd", elf], env=env).splitlines():
            m = re.match(r"^\s*(\S+) => (\S+)", line)
            if not m:
                continue
            library = Path(m.group(2)).resolve()
            if str(library).startswith(str(root.resolve()) + "/"):
                continue
            owner = subprocess.run(["dpkg", "-S", library], capture_output=True, text=True)
            if owner.returncode != 0:  # merged /usr: dpkg knows /lib/... for /usr/lib/...
                owner = subprocess.run(["dpkg", "-S", str(library).removeprefix("/usr")], capture_output=True,
                                       text=True)
            assert owner.returncode == 0, f"{elf.name} loads {library}, which no Debian package ships"
            packages = {p.split(":")[0] for p in owner.stdout.split(": ")[0].split(", ")}
            assert packages & depended, f"{elf.name} loads {library} from {packages}, not in Depends"


def test_installed_websockify_proxies_a_session(root, monkeypatch):
    monkeypatch.setenv("WEBSOCKIFY_BIN", str(root / "usr/bin/websockify"))
    target = TcpTarget()
    proxy = Proxy([f"127.0.0.1:{target.port}"])  # the installed websockify, listening
    try:
        client = RawClient(proxy.port)
        try:
            payload = os.urandom(200_000)
            assert ws_round_trip(client, payload) == payload
        finally:
            client.close()
    finally:
        proxy.stop()
        target.close()


def test_installed_websockify_wraps_a_program_with_the_packaged_librebind(root, start_process):
    socat = require("socat", "socat")
    port = pick_free_port()
    proc = start_process([root / "usr/bin/websockify", f"127.0.0.1:{port}", "--",
                          socat, f"TCP-LISTEN:{port},fork,reuseaddr", "EXEC:cat"])
    log = proc.log_path

    def moved():
        assert proc.poll() is None, log.read_text()
        return "is moved to 127.0.0.1:" in log.read_text()

    wait_until(moved, timeout=15, what="the wrapped socat to start")
    [pid] = re.findall(r"started wrapped program .*\(pid (\d+)\)", log.read_text())
    environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    preload = [e for e in environment if e.startswith(b"LD_PRELOAD=")]
    assert preload == [f"LD_PRELOAD={(root / REBIND).resolve()}".encode()], preload

    def echoes():
        try:
            client = RawClient(port)
        except OSError:
            return False
        try:
            return ws_round_trip(client, b"through librebind") == b"through librebind"
        except (OSError, EOFError, AssertionError):
            return False
        finally:
            client.close()

    wait_until(echoes, timeout=15, interval=0.1, what="an echo from the wrapped socat")


def test_units_verify_and_run_as_the_system_user(root, tmp_path):
    analyze = require("systemd-analyze", "systemd")
    for unit in UNITS:
        text = (root / "lib/systemd/system" / unit).read_text()
        if unit.endswith(".service"):
            assert re.search(r"^ExecStart=/usr/bin/websockify ", text, re.M), text
            assert re.search(r"^User=websockify$", text, re.M) and "DynamicUser" not in text, text
        # verify checks that ExecStart is executable: point it at the installed tree
        (tmp_path / unit).write_text(text.replace("/usr/bin/websockify", str(root / "usr/bin/websockify")))
    out = subprocess.run([analyze, "verify", "--man=no", *(tmp_path / u for u in UNITS)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and not out.stdout.strip() and not out.stderr.strip(), out


def test_man_pages_render(root):
    man = require("man", "man-db")
    env = {k: v for k, v in os.environ.items() if k not in ("MAN_KEEP_FORMATTING", "MANOPT", "MANPAGER", "PAGER")}
    for tool in TOOLS:
        out = subprocess.run([man, "-l", root / f"usr/share/man/man1/{tool}.1.gz"], capture_output=True, text=True,
                             timeout=60, env=dict(env, MANWIDTH="80", LANG="C.UTF-8", LC_ALL="C.UTF-8"))
        assert out.returncode == 0 and not out.stderr.strip(), out.stderr
        assert re.search(rf"^NAME\n\s+{re.escape(tool)} +- ", out.stdout, re.M), out.stdout[:400]


def test_reinstall_then_purge(deb, tmp_path, host_accounts):
    root = empty_root(tmp_path / "root")
    dpkg_root(root, "--force-depends", "--install", deb)
    dpkg_root(root, "--force-depends", "--install", deb)  # an upgrade's postinst: the user is kept, not doubled
    assert len(re.findall(r"^websockify:", (root / "etc/passwd").read_text(), re.M)) == 1
    # what running and enabling the service leaves behind
    (root / "var/lib/websockify").mkdir(parents=True)
    (root / "var/lib/websockify/sessions.rec").write_bytes(b"recording")
    (root / "var/log/websockify").mkdir(parents=True)
    (root / "var/log/websockify/websockify.log").write_text("log\n")
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "websockify.service").symlink_to("/lib/systemd/system/websockify.service")

    dpkg_root(root, "--purge", "websockify-swift")
    assert not (root / "usr/bin/websockify").exists() and not (root / REBIND).exists()
    assert not (root / "lib/systemd/system/websockify.service").exists()
    assert not os.path.lexists(wants / "websockify.service")
    assert not (root / "var/log/websockify").exists()
    # recordings are kept, handed to root
    kept = root / "var/lib/websockify/sessions.rec"
    assert kept.read_bytes() == b"recording" and kept.stat().st_uid == 0
    assert "websockify:" not in (root / "etc/passwd").read_text()
    assert "websockify:" not in (root / "etc/group").read_text()
    assert (Path("/etc/passwd").read_text(), Path("/etc/group").read_text()) == host_accounts
