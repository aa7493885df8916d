"""The server's service modules import each other without cycles, counting the imports made
inside functions (the usual way to hide a cycle from Python without removing it)."""

from __future__ import annotations

import ast
from pathlib import Path

import chainproof.server.services as services_pkg

SERVICES = Path(services_pkg.__file__).parent
PACKAGE = "chainproof.server.services"


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The service modules ``path`` imports, at module level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom) or node.module is None:
            continue
        if node.module == PACKAGE:
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif node.module.startswith(PACKAGE + "."):
            found.add(node.module.removeprefix(PACKAGE + ".").split(".")[0])
    return found & modules


def _graph() -> dict[str, set[str]]:
    paths = {p.stem: p for p in SERVICES.glob("*.py") if p.stem != "__init__"}
    return {name: _imports(path, set(paths)) for name, path in paths.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (as a path back to its start), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for dep in sorted(graph[node]):
            cycle = visit(dep, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_the_cycle_finder_finds_function_local_cycles(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(f"from {PACKAGE} import b\n")
    (tmp_path / "b.py").write_text(f"def f():\n    from {PACKAGE}.a import x\n")
    modules = {"a", "b"}
    graph = {m: _imports(tmp_path / f"{m}.py", modules) for m in modules}
    assert _cycle(graph) == ["a", "b", "a"]


def test_services_import_each_other_without_cycles() -> None:
    graph = _graph()
    assert {"enforcement", "policies", "orgs"} <= set(graph)
    assert "policies" in graph["enforcement"] and "orgs" in graph["policies"]
    assert _cycle(graph) is None


def test_support_modules_import_no_service() -> None:
    import chainproof.server.support as support_pkg

    support = Path(support_pkg.__file__).parent
    services = {p.stem for p in SERVICES.glob("*.py")}
    assert {p.stem for p in support.glob("*.py")} >= {"principal", "sealed", "pagination", "times"}
    assert {p.name: _imports(p, services) for p in support.glob("*.py")} == {
        p.name: set() for p in support.glob("*.py")
    }
