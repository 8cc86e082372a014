"""The layers of docs/architecture.md hold: every import in the source points down.

sensordata <- detectors, drivers <- simulator <- gateway. A package may import the
layers below it, never one above or beside it, so drivers and the simulator never need
the application and detectors stay pure signal processing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = {"sensordata", "detectors", "drivers", "simulator", "gateway"}
ALLOWED = {
    "sensordata": set(),
    "detectors": {"sensordata"},
    "drivers": {"sensordata"},
    "simulator": {"sensordata", "drivers"},
    "gateway": {"sensordata", "detectors", "drivers", "simulator"},
}
# Pure streaming code: what a detector may not touch even from the standard library.
DETECTOR_FORBIDDEN = {"asyncio", "socket", "time", "subprocess", "threading", "sqlite3"}


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name.split(".")[0]) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module.split(".")[0]))
    return out


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_every_import_points_down(package):
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for lineno, top in imports(path):
            if top in PROJECT and top != package and top not in ALLOWED[package]:
                bad.append(f"{path.relative_to(ROOT)}:{lineno} imports {top}")
    assert not bad, "\n".join(bad)


def test_detectors_stay_pure():
    bad = [f"{p.relative_to(ROOT)}:{n} imports {top}"
           for p in sorted((ROOT / "detectors").rglob("*.py"))
           for n, top in imports(p) if top in DETECTOR_FORBIDDEN]
    assert not bad, "\n".join(bad)


def test_the_checker_sees_a_violation(tmp_path):
    """The check above can fail: an upward import is found."""
    f = tmp_path / "x.py"
    f.write_text("from gateway.events import Event\nimport drivers.base\n")
    assert [top for _, top in imports(f)] == ["gateway", "drivers"]
