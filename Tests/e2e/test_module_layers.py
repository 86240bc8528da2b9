"""The module layers of docs/architecture.md hold in Package.swift, and wsreplay carries no plugin code.

The layer table in docs/architecture.md is the single statement of the module graph: this test reads
it, reads the package through `swift package dump-package`, and fails when a module uses one of its
own layer or above, or when a module is missing from the table. It then looks into the built
binaries: wsreplay must not contain the token plugins' JWT library or Redis client (it serves
recordings, never tokens), while websockify must (so the check itself is known to see them).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from vncdesk import REPO

ARCHITECTURE = REPO / "docs" / "architecture.md"


def layer_table() -> dict[str, int]:
    """Module name -> layer, from the table rows `| N | `A`, `B` | … |`."""
    layers: dict[str, int] = {}
    for line in ARCHITECTURE.read_text().splitlines():
        match = re.match(r"^\|\s*(\d+)\s*\|([^|]*)\|", line)
        if not match:
            continue
        for name in re.findall(r"`([^`]+)`", match.group(2)):
            assert name not in layers, f"{name} appears twice in the layer table"
            layers[name] = int(match.group(1))
    return layers


def package_targets() -> list[dict]:
    out = subprocess.run(
        ["swift", "package", "dump-package"], cwd=REPO, capture_output=True, text=True, timeout=300, check=True
    ).stdout
    return json.loads(out)["targets"]


def internal_dependencies(target: dict, names: set[str]) -> list[str]:
    found = []
    for dependency in target["dependencies"]:
        for kind in ("byName", "target"):
            if kind in dependency and dependency[kind][0] in names:
                found.append(dependency[kind][0])
    return found


def is_test_only(target: dict) -> bool:
    """Test targets, and modules and tools that only tests use (they live under Tests/)."""
    return target["type"] == "test" or (target.get("path") or "").startswith("Tests/")


def test_the_table_lists_every_product_module_and_no_module_uses_its_layer_or_above():
    layers = layer_table()
    assert len(layers) >= 10, f"the layer table of {ARCHITECTURE} was not found"
    targets = package_targets()
    names = {t["name"] for t in targets}
    product_modules = [t for t in targets if not is_test_only(t)]
    missing = sorted(t["name"] for t in product_modules if t["name"] not in layers)
    assert not missing, f"modules missing from the layer table of docs/architecture.md: {missing}"
    stale = sorted(set(layers) - names)
    assert not stale, f"docs/architecture.md lists modules Package.swift does not have: {stale}"
    violations = []
    for target in product_modules:
        for dependency in internal_dependencies(target, names):
            if layers[dependency] >= layers[target["name"]]:
                violations.append(
                    f"{target['name']} (layer {layers[target['name']]}) uses {dependency} (layer {layers[dependency]})"
                )
    assert not violations, "layering broken:\n" + "\n".join(violations)


def test_test_targets_use_only_product_modules_and_test_support():
    targets = package_targets()
    names = {t["name"] for t in targets}
    tests = {t["name"] for t in targets if t["type"] == "test"}
    for target in targets:
        for dependency in internal_dependencies(target, names):
            assert dependency not in tests, f"{target['name']} depends on the test target {dependency}"


def symbols(binary: Path) -> str:
    return subprocess.run(["nm", "--defined-only", str(binary)], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("marker", ["JWTKit", "RedisTokenStore", "TokenFileStore", "AsyncHTTPClient"])
def test_wsreplay_contains_no_plugin_code_while_websockify_does(proxy_bin, marker):
    wsreplay = proxy_bin.parent / "wsreplay"
    assert wsreplay.is_file(), f"wsreplay not built next to {proxy_bin}"
    # The check must be able to see plugin code at all: websockify links the plugins.
    seen_in_websockify = marker in symbols(proxy_bin)
    assert seen_in_websockify, f"no {marker} symbol in websockify: the check cannot see plugin code"
    seen_in_wsreplay = marker in symbols(wsreplay)
    assert not seen_in_wsreplay, f"wsreplay contains {marker} code (it links the token plugins)"
