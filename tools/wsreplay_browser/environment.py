"""Finding what the harness runs: wsreplay and wsrecord-inspect, Chromium and chromedriver, selenium.
Each lookup either returns a path or raises EnvironmentProblem saying exactly what is missing."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


class EnvironmentProblem(Exception):
    """Something the harness needs is missing (exit code 2, with the message)."""


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _swift_bin_dir(repo: Path) -> Path | None:
    """`swift build --show-bin-path` in the checkout this script lives in, if it is one."""
    if not (repo / "Package.swift").is_file() or shutil.which("swift") is None:
        return None
    try:
        run = subprocess.run(["swift", "build", "--show-bin-path"], cwd=repo, capture_output=True,
                             text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(run.stdout.strip()) if run.returncode == 0 and run.stdout.strip() else None


def find_product(name: str, env_var: str, launcher: Path, beside: Path | None = None) -> Path:
    """A binary of this project: $ENV_VAR; else beside `beside` (the other tool found); else next to
    the launcher as invoked and as its symlinks resolve; else the build of the checkout the launcher
    lives in (`swift build --show-bin-path`); else PATH."""
    if os.environ.get(env_var):
        path = Path(os.environ[env_var])
        if not _executable(path):
            raise EnvironmentProblem(f"{env_var}={path} is not an executable file")
        return path
    candidates = [d / name for d in (beside, launcher.parent, launcher.resolve().parent) if d is not None]
    for candidate in candidates:
        if _executable(candidate):
            return candidate
    repo = launcher.resolve().parent.parent
    bin_dir = _swift_bin_dir(repo)
    if bin_dir is not None and _executable(bin_dir / name):
        return bin_dir / name
    found = shutil.which(name)
    if found:
        return Path(found)
    where = ", ".join(str(c.parent) for c in candidates)
    build = f", nor in the build of {repo} (run swift build there)" if (repo / "Package.swift").is_file() else ""
    raise EnvironmentProblem(f"the {name} binary was not found: not in ${env_var}, not in {where}{build}, "
                             f"not on PATH; set {env_var} or install {name} next to wsreplay-browser")


def find_program(names: tuple[str, ...], env_var: str, package: str) -> Path:
    """A system program: $ENV_VAR, else the first of `names` on PATH."""
    if os.environ.get(env_var):
        path = Path(os.environ[env_var])
        if not _executable(path):
            raise EnvironmentProblem(f"{env_var}={path} is not an executable file")
        return path
    for name in names:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise EnvironmentProblem(f"{names[0]} is missing: not on PATH and ${env_var} is not set "
                             f"(Debian: apt-get install {package}; or scripts/install-deps)")


def require_selenium() -> None:
    try:
        import selenium  # noqa: F401
    except ImportError as e:
        raise EnvironmentProblem(f"the Python module selenium is missing for {sys.executable} ({e}): "
                                 "pip install selenium, or scripts/install-deps") from e


def wsreplay_options(wsreplay: Path) -> str:
    """`wsreplay --help`, to see which options this build has."""
    try:
        run = subprocess.run([str(wsreplay), "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise EnvironmentProblem(f"cannot run {wsreplay} --help: {e}") from e
    return run.stdout + run.stderr
