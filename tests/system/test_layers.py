"""The layers of docs/architecture.md hold: every import in the source points down.

sensordata <- detectors, drivers <- simulator <- gateway. A package may import the
layers below it, never one above or beside it, so drivers and the simulator never need
the application and detectors stay pure signal processing.

Inside the packages, module by module: no import circle (counting every import: module
level, function level and `if TYPE_CHECKING:`), the home's daemon never imports the
alarm-centre side or the offline tools, and the DC-09 protocol stays a leaf."""

from __future__ import annotations

import ast
from collections import deque
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


# -- module by module ---------------------------------------------------------------------
PRODUCT_ORDER = ("sensordata", "detectors", "drivers", "simulator", "gateway")
# What the home's daemon must never import, even lazily: the alarm-centre side, the
# offline evaluation library, the commands and the CLI, the commissioning doctor (and the
# bridge's and fleet's names from before they moved under gateway/centre/).
NOT_IN_THE_HOME = ("gateway.centre", "gateway.evaluation", "gateway.commands", "gateway.cli",
                   "gateway.doctor", "gateway.fleet", "gateway.bridge")
# The DC-09 protocol's only imports from the rest of gateway/: the event catalogue (each
# event's Contact ID code) and the rate-limited log of inbound garbage.
DC09_MAY_IMPORT = {"gateway.catalogue", "gateway.inbound"}


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _known(name: str, known: set[str]) -> str | None:
    """`name` or its longest prefix that is a module of the product."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def module_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The product modules module `name` imports anywhere in its file, relative imports
    resolved; `from pkg import sub` counts as importing the sub-module and the package."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            full = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                full = ".".join(base + ([node.module] if node.module else []))
            # `from pkg import sub` runs pkg/__init__.py too: both count
            targets = [full] + [f"{full}.{a.name}" for a in node.names
                                if f"{full}.{a.name}" in known]
        else:
            continue
        out |= {m for m in (_known(t, known) for t in targets) if m and m != name}
    return out


def import_graph(root: Path, packages: tuple[str, ...] = PRODUCT_ORDER) -> dict[str, set[str]]:
    paths = {module_name(root, p): p for pkg in packages for p in sorted((root / pkg).rglob("*.py"))}
    return {name: module_imports(name, path, set(paths)) for name, path in paths.items()}


def components(g: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[frozenset[str]] = []
    for start in sorted(g):
        if start in index:
            continue
        index[start] = low[start] = len(index)
        stack.append(start)
        work = [(start, iter(sorted(g[start])))]
        while work:
            v, edges = work[-1]
            for w in edges:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    work.append((w, iter(sorted(g[w]))))
                    break
                if w in stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = stack[stack.index(v):]
                    del stack[stack.index(v):]
                    if len(comp) > 1:
                        out.append(frozenset(comp))
    return sorted(out, key=min)


def shortest_path(g: dict[str, set[str]], start: str, goal: set[str]) -> list[str]:
    """The shortest import chain from `start` to a module in `goal` (start itself excluded)."""
    came: dict[str, str] = {}
    todo = deque([start])
    while todo:
        v = todo.popleft()
        for w in sorted(g[v]):
            if w in goal:
                path = [w, v]
                while path[-1] != start:
                    path.append(came[path[-1]])
                return path[::-1]
            if w not in came and w != start:
                came[w] = v
                todo.append(w)
    return []


def circle(g: dict[str, set[str]], comp: frozenset[str]) -> list[str]:
    """One shortest circle through the component's first module, to show what to cut."""
    first = min(comp)
    sub = {m: g[m] & comp for m in comp}
    return shortest_path(sub, first, {first})


def with_parents(g: dict[str, set[str]]) -> dict[str, set[str]]:
    """Importing a.b.c also runs a and a.b: for what an import closure really executes."""
    return {m: deps | {p for p in (".".join(m.split(".")[:i]) for i in range(1, m.count(".") + 1))
                       if p in g} for m, deps in g.items()}


def closure(g: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for w in g[todo.pop()] - seen:
            seen.add(w)
            todo.append(w)
    return seen


def print_circles(g: dict[str, set[str]], comps: list[frozenset[str]]) -> None:
    print(f"import circles: {len(comps)}")
    for comp in comps:
        print(f"  {' -> '.join(circle(g, comp))}  ({len(comp)} modules: {', '.join(sorted(comp))})")


def test_no_import_circle_among_the_products_modules():
    g = import_graph(ROOT)
    comps = components(g)
    print_circles(g, comps)
    new = [" -> ".join(circle(g, c)) for c in comps]
    assert not new, "import circles (cut one arrow of each):\n" + "\n".join(new)


def test_the_daemon_imports_nothing_of_the_centre_or_the_tools():
    """Everything `import gateway.daemon` can run, lazy imports included."""
    g = with_parents(import_graph(ROOT))
    bad = {m for m in closure(g, "gateway.daemon")
           if any(m == f or m.startswith(f + ".") for f in NOT_IN_THE_HOME)}
    assert not bad, "the daemon reaches " + " -> ".join(shortest_path(g, "gateway.daemon", bad))


def test_the_dc09_protocol_is_a_leaf():
    """gateway/dc09/ serves the home's second path and the centre's bridge: it imports
    neither, nor the config, only the event catalogue (Contact ID codes)."""
    g = import_graph(ROOT)
    mods = [m for m in g if m == "gateway.dc09" or m.startswith("gateway.dc09.")]
    outside = {d for m in mods for d in g[m] if d.startswith("gateway") and not d.startswith("gateway.dc09")}
    assert outside <= DC09_MAY_IMPORT, f"gateway/dc09 imports {sorted(outside - DC09_MAY_IMPORT)}"
    reach = set().union(*(closure(with_parents(g), m) for m in mods))
    assert not {m for m in reach if m.startswith(("gateway.centre", "gateway.config", "gateway.daemon",
                                                   "gateway.dc09_path", "gateway.console"))}


def test_the_evaluation_library_imports_no_command():
    """gateway/evaluation/ computes and returns; the command (gateway/commands/evaluate*.py)
    parses arguments and prints, so the library never imports the CLI side."""
    g = with_parents(import_graph(ROOT))
    for m in sorted(m for m in g if m.startswith("gateway.evaluation")):
        bad = {d for d in closure(g, m) if d.startswith(("gateway.commands", "gateway.cli"))}
        assert not bad, " -> ".join(shortest_path(g, m, bad))

def test_the_module_checker_finds_what_it_must(tmp_path):
    """The checks above can fail: a circle made of a function-level relative import and a
    type-only import is found, and so is a lazy import from the daemon into the centre."""
    for rel, text in {
        "gateway/__init__.py": "",
        "gateway/a.py": "def f():\n    from . import b\n",
        "gateway/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gateway.a import f\n",
        "gateway/daemon.py": "def run():\n    from .centre.receiver import client\n",
        "gateway/centre/__init__.py": "",
        "gateway/centre/receiver/__init__.py": "",
        "gateway/centre/receiver/client.py": "import gateway.a\n",
        "sensordata/__init__.py": "",
        # a package whose __init__ names a sub-module (for types) that imports a sibling
        # through the package: a circle through __init__.py
        "sensordata/trace/__init__.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                        "    from sensordata.trace.reader import Reader\n",
        "sensordata/trace/reader.py": "from sensordata.trace import codec\n",
        "sensordata/trace/codec.py": "",
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    g = import_graph(tmp_path, ("sensordata", "gateway"))
    assert g["gateway.daemon"] == {"gateway.centre.receiver", "gateway.centre.receiver.client"}
    assert set(components(g)) == {frozenset({"gateway.a", "gateway.b"}),
                                  frozenset({"sensordata.trace", "sensordata.trace.reader"})}
    ab = next(c for c in components(g) if "gateway.a" in c)
    assert circle(g, ab) == ["gateway.a", "gateway.b", "gateway.a"]
    reach = closure(with_parents(g), "gateway.daemon")
    assert {"gateway.centre", "gateway.centre.receiver", "gateway.a", "gateway.b"} <= reach
