"""docs/man/*.1 are what scripts/gen-man makes from the built tools' --help, render with groff, man-db
and mandoc without warnings and without losing a character, and their EXAMPLES use real options
(wsrecord-inspect's are run on a real recording)."""

import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from proxyutil import REPO_ROOT, websockify_bin

TOOLS = ["websockify", "wsreplay", "wsrecord-inspect"]
GEN_MAN = os.path.join(REPO_ROOT, "scripts", "gen-man")
MAN_DIR = os.path.join(REPO_ROOT, "docs", "man")
EXAMPLES_DIR = os.path.join(MAN_DIR, "examples")
LEGACY_FIXTURE = os.path.join(REPO_ROOT, "Fixtures", "websockify-0.10-session.legacy")
WIDE = "1000"


def need(command):
    path = shutil.which(command)
    if not path:
        pytest.fail(f"{command} not found: run scripts/install-deps (groff-base, man-db, mandoc)")
    return path


def binary(tool):
    return os.path.join(os.path.dirname(websockify_bin()), tool)


def page(tool):
    return os.path.join(MAN_DIR, f"{tool}.1")


def help_text(tool, *subcommand):
    out = subprocess.run([binary(tool), *subcommand, "--help"], capture_output=True, text=True, timeout=10,
                         env=dict(os.environ, COLUMNS="10000"))
    assert out.returncode == 0, out
    return out.stdout


def subcommands(tool):
    section = re.search(r"^SUBCOMMANDS:\n(.*?)(?:\n\n|\Z)", help_text(tool), re.M | re.S)
    return [] if not section else re.findall(r"^  (\S+)", section.group(1), re.M)


def helps(tool):
    """(where, --help text) of the tool and each of its subcommands."""
    return [(tool, help_text(tool))] + [(f"{tool} {s}", help_text(tool, s)) for s in subcommands(tool)]


def help_pieces(text):
    """Every piece of text the help shows: overview paragraphs, usage forms, entry labels and texts."""
    pieces, in_entries = [], False
    for line in text.split("\n"):
        header = re.match(r"^(?:(OVERVIEW|USAGE): |([A-Z][A-Z0-9 ]*):$)", line)
        if header:
            in_entries = bool(header.group(2))
            line = line[header.end():]
        if re.match(r"^  See '.*' for detailed help\.$", line):
            continue
        # an entry: its label, then its text from column 26 (or on the next lines when the label is wider)
        if in_entries and len(line) > 26 and line[:2] == "  " and line[2] != " " and line[25] == " " \
                and line[26] != " ":
            pieces += [line[2:26].strip(), line[26:].strip()]
        elif line.strip():
            pieces.append(line.strip())
    return pieces


def normalize(text):
    # groff renders \- as U+2212 and hyphens as U+2010 on some setups; neither is a lost character
    text = text.replace("\u2212", "-").replace("\u2010", "-")
    return re.sub(r"\s+", " ", text)


def render_man(path, lang):
    need("man")
    env = {k: v for k, v in os.environ.items() if k not in ("MAN_KEEP_FORMATTING", "MANOPT", "MANPAGER", "PAGER")}
    out = subprocess.run(["man", "-l", path], capture_output=True, text=True, timeout=30,
                         env=dict(env, MANWIDTH=WIDE, LANG=lang, LC_ALL=lang))
    assert out.returncode == 0 and out.stdout, out
    return normalize(out.stdout)


def test_pages_are_up_to_date(tmp_path):
    out = subprocess.run([sys.executable, GEN_MAN, "--bin-dir", os.path.dirname(websockify_bin()),
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out
    stale = {}
    for tool in TOOLS:
        fresh = (tmp_path / f"{tool}.1").read_text()
        committed = open(page(tool)).read() if os.path.isfile(page(tool)) else ""
        if fresh != committed:
            stale[tool] = "".join(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True),
                                                       f"docs/man/{tool}.1", "from --help"))
    assert not stale, "run scripts/gen-man and commit docs/man:\n" + "\n".join(stale.values())


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("device", ["utf8", "ascii"])
def test_groff_renders_without_warnings(tool, device):
    out = subprocess.run([need("groff"), "-man", f"-T{device}", "-ww", "-z", page(tool)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and not out.stderr, out


@pytest.mark.parametrize("tool", TOOLS)
def test_mandoc_lint_is_clean(tool):
    out = subprocess.run([need("mandoc"), "-Tlint", page(tool)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and not out.stdout and not out.stderr, out


@pytest.mark.parametrize("tool", TOOLS)
def test_page_reads_like_the_help_with_every_character(tool):
    utf8 = render_man(page(tool), "C.UTF-8")
    ascii_page = render_man(page(tool), "C")
    assert not re.search(r"[^\x00-\x7f]", ascii_page), "man in the C locale printed non-ASCII"
    missing, lost = [], []
    for where, text in helps(tool):
        for piece in help_pieces(text):
            expected = normalize(piece)
            if expected not in utf8:
                missing.append(f"{where}: {piece}")
            # In ASCII every non-ASCII character must still show as something (-> for an arrow, ...):
            pattern = "".join(r"[!-~]+" if ord(c) > 127 else re.escape(c) for c in expected)
            if not re.search(pattern, ascii_page):
                lost.append(f"{where}: {piece}")
    assert not missing, "not in `man -l` output (UTF-8):\n" + "\n".join(missing)
    assert not lost, "characters lost in `man -l` output (C locale):\n" + "\n".join(lost)


def test_the_help_has_non_ascii_text_to_check():
    """Guards the test above: the help texts do contain characters outside ASCII."""
    assert any(re.search(r"[^\x00-\x7f]", text) for tool in TOOLS for _, text in helps(tool))


@pytest.mark.parametrize("tool", TOOLS)
def test_page_has_the_tool_sections(tool):
    text = render_man(page(tool), "C.UTF-8")
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLES", "SEE ALSO"]:
        assert f" {section} " in f" {text} ", section
    # The synopsis is the help's usage: no "subcommand" form or help subcommand that the tool lacks.
    if not subcommands(tool):
        assert "<subcommand>" not in text and f"{tool} help" not in text


def example_commands(tool):
    """The commands of docs/man/examples/TOOL.txt, continuation lines joined."""
    commands = []
    for line in open(os.path.join(EXAMPLES_DIR, f"{tool}.txt")).read().split("\n"):
        if line.startswith("$ "):
            commands.append(line[2:])
        elif line.startswith("  ") and commands:
            commands[-1] = commands[-1].rstrip("\\").rstrip() + " " + line.strip()
    return commands


def options_of(tool, *subcommand):
    """Option names in the help's entry labels: "-6, --prefer-ipv6", "-o <out.pcapng>", "--web <DIR>"."""
    labels = re.findall(r"^  (-.*?)(?: <|\s{2,}|$)", help_text(tool, *subcommand), re.M)
    return {name for label in labels for name in re.findall(r"--?[\w-]+", label)}


@pytest.mark.parametrize("tool", TOOLS)
def test_examples_use_options_the_tools_have(tool):
    commands = example_commands(tool)
    assert len(commands) >= 3, commands
    checked = 0
    for command in commands:
        words = shlex.split(command.split(" -- ")[0])  # after --: the wrapped program's own options
        if words[0] not in TOOLS:
            continue
        sub = [words[1]] if words[0] == "wsrecord-inspect" else []
        if sub:
            assert sub[0] in subcommands("wsrecord-inspect"), command
        known = options_of(words[0], *sub)
        for word in words[1 + len(sub):]:
            if word.startswith("-") and not re.match(r"^-?\d", word):
                assert word.split("=")[0] in known, f"{command}: {word} is not an option of {words[0]} {sub}"
        checked += 1
    assert checked >= 3


def test_wsrecord_inspect_examples_run(tmp_path):
    """Every wsrecord-inspect example, in order, on a real recording (converted from the legacy fixture)."""
    tool = binary("wsrecord-inspect")
    shutil.copy(LEGACY_FIXTURE, tmp_path / "legacy.1")
    for name in ["sessions.rec", "before.rec", "after.rec"]:
        out = subprocess.run([tool, "convert", LEGACY_FIXTURE, str(tmp_path / name)], capture_output=True, timeout=30)
        assert out.returncode == 0, out
    env = dict(os.environ, PATH=os.path.dirname(tool) + os.pathsep + os.environ["PATH"])
    commands = example_commands("wsrecord-inspect")
    used = {shlex.split(c)[1] for c in commands}
    assert {"verify", "dump", "stats", "convert", "diff"} <= used, used
    for command in commands:
        out = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, (command, out)
    for made in ["bandwidth.svg", "converted.rec", "session1.js", "sessions.pcapng", "session1.rec",
                 "first30s.rec", "both.rec", "repaired.rec"]:
        assert (tmp_path / made).stat().st_size > 0, made
