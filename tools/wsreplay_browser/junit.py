"""A JUnit XML file (one testsuite) as CI servers read it: a testcase per check, with a <failure>
(the check found a difference), an <error> (it could not run) or <skipped>, and a message."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Case:
    name: str
    seconds: float = 0.0
    outcome: str = "passed"  # passed, failure, error, skipped
    message: str = ""
    details: str = ""


def _clean(text: str) -> str:
    """XML 1.0 cannot hold most control characters, even escaped."""
    return "".join(c if c in "\t\n\r" or ord(c) >= 0x20 else f"\\x{ord(c):02x}" for c in text)


def write(path: Path, suite: str, classname: str, cases: list[Case], seconds: float) -> None:
    root = ET.Element("testsuite", {
        "name": suite,
        "tests": str(len(cases)),
        "failures": str(sum(c.outcome == "failure" for c in cases)),
        "errors": str(sum(c.outcome == "error" for c in cases)),
        "skipped": str(sum(c.outcome == "skipped" for c in cases)),
        "time": f"{seconds:.3f}",
    })
    for case in cases:
        element = ET.SubElement(root, "testcase", {"classname": classname, "name": case.name,
                                                   "time": f"{case.seconds:.3f}"})
        if case.outcome != "passed":
            child = ET.SubElement(element, case.outcome, {"message": _clean(case.message)})
            child.text = _clean(case.details) or None
    ET.indent(root)
    path.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")
