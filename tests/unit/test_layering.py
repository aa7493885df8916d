"""The import layering of ``src/chainproof``, checked on every test run.

Every ``import`` counts: module-level, function-local (the lazy imports that keep the CLI fast)
and ``TYPE_CHECKING`` ones alike, since each names a dependency the layer must not have.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "chainproof"

SHELLS = ("chainproof.cli", "chainproof.server")
NETWORK = (
    "chainproof.oci",  # the OCI distribution client
    "chainproof.client",  # the control plane's HTTP client
    "chainproof.cas",  # storage backends (S3, Azure, OCI)
    "httpx",
    "requests",
    "urllib3",
    "urllib.request",
    "http.client",
    "aiohttp",
    "socket",
    "ssl",
    "grpc",
    "websockets",
    "boto3",
    "botocore",
    "azure",
    "oras",
)
WEB_AND_DATABASE = (
    "fastapi",
    "starlette",
    "uvicorn",
    "flask",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "psycopg2",
    "asyncpg",
    "sqlite3",
)

PURE = (*SHELLS, *NETWORK, *WEB_AND_DATABASE)

# Layer (a package or module under chainproof)  ->  what no module in it may import.
RULES: dict[str, tuple[str, ...]] = {
    "chainproof.core": PURE,  # the domain: no web, database or network
    "chainproof.errors": PURE,  # core imports these two
    "chainproof.extras": PURE,
    "chainproof.signing": SHELLS,
    "chainproof.cas": SHELLS,
    "chainproof.policy": SHELLS,
    "chainproof.client": SHELLS,
    "chainproof.oci": SHELLS,
    "chainproof.integrations": SHELLS,
}
"""Every library (all but the shells, cli and server) is here: libraries never import a shell."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(source: str, module: str, *, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of everything ``source`` imports, anywhere in the file.

    ``from a import b`` yields both ``a`` and ``a.b`` (b may be a submodule); relative
    imports are resolved against ``module``.
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def matches(name: str, forbidden: str) -> bool:
    return name == forbidden or name.startswith(forbidden + ".")


def violations(layer: str, forbidden: tuple[str, ...]) -> list[str]:
    directory = SRC / Path(*layer.split("."))
    single = directory.with_suffix(".py")
    files = sorted(directory.rglob("*.py")) if directory.is_dir() else [single]
    found: dict[tuple[str, int], str] = {}
    for path in files:
        where = str(path.relative_to(SRC))
        source = path.read_text(encoding="utf-8")
        is_package = path.name == "__init__.py"
        for line, name in imported_names(source, module_name(path), is_package=is_package):
            bad = next((f for f in forbidden if matches(name, f)), None)
            if bad is not None and (where, line) not in found:
                found[where, line] = f"{where}:{line}: {layer} may not import {bad} ({name})"
    return list(found.values())


def test_every_layer_keeps_to_its_imports() -> None:
    found = [v for layer, forbidden in RULES.items() for v in violations(layer, forbidden)]
    assert found == [], "layering broken:\n" + "\n".join(found)


def test_every_package_has_a_rule() -> None:
    packages = {f"chainproof.{p.name}" for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    modules = {f"chainproof.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    unruled = (packages | modules) - set(RULES) - set(SHELLS)
    assert unruled == set(), f"add these to RULES: {sorted(unruled)}"


def test_scanner_sees_local_relative_and_from_imports() -> None:
    source = (
        "import os\n"
        "def f():\n"
        "    import httpx.client\n"
        "    from urllib import request\n"
        "    from ..server import app\n"
        "    from . import sibling\n"
    )
    names = {n for _, n in imported_names(source, "chainproof.core.x", is_package=False)}
    assert {"os", "httpx.client", "urllib.request", "chainproof.server.app"} <= names
    assert "chainproof.core.sibling" in names
    assert matches("httpx.client", "httpx") and not matches("httpxy", "httpx")
