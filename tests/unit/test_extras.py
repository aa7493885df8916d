"""Optional extras: a missing library is an actionable error, and detection never needs one."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from chainproof.core.materials import craft, detect_kind
from chainproof.errors import InvalidInput, MaterialError
from chainproof.extras import require
from chainproof.signing.trust import TrustedRoot

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "tests" / "assets" / "materials"

# (asset, kind, module its handler needs, extra that installs it)
OPTIONAL_KINDS = [
    ("spdx-2.3.json", "SBOM_SPDX_JSON", "spdx_tools", "spdx"),
    ("specs/petstore-openapi-3.0.yaml", "OPENAPI_SPEC", "openapi_spec_validator", "specs"),
    ("specs/bookstore.graphql", "GRAPHQL_SPEC", "graphql", "specs"),
    ("sboms/cyclonedx-py-1.5.xml", "SBOM_CYCLONEDX_XML", "lxml", "cyclonedx-xml"),
]


def _uninstall(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Make ``import module`` (and its submodules) raise ModuleNotFoundError, as when the
    distribution is not installed: a None entry in sys.modules does exactly that."""
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)


def test_require_passes_an_installed_module() -> None:
    require("json", "none", needed_by="anything")


def test_require_names_the_extra_and_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    _uninstall(monkeypatch, "spdx_tools")
    with pytest.raises(MaterialError) as caught:
        require("spdx_tools", "spdx", needed_by="SBOM_SPDX_JSON")
    err = caught.value
    assert err.message == "SBOM_SPDX_JSON needs the spdx extra: pip install 'chainproof[spdx]'"
    assert err.exit_code == 2 and err.hint is not None and "spdx_tools" in err.hint


def test_require_blames_a_missing_dependency_of_the_library(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "half_installed.py").write_text("import no_such_dependency_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(InvalidInput) as caught:
        require("half_installed", "specs", needed_by="X", error=InvalidInput)
    assert type(caught.value) is InvalidInput
    assert caught.value.hint is not None and "no_such_dependency_here" in caught.value.hint


@pytest.mark.parametrize(("asset", "kind", "module", "extra"), OPTIONAL_KINDS)
def test_kind_without_its_extra_is_detected_then_refused(
    monkeypatch: pytest.MonkeyPatch, asset: str, kind: str, module: str, extra: str
) -> None:
    _uninstall(monkeypatch, module)
    path = str(ASSETS / asset)
    assert detect_kind(path) == kind
    with pytest.raises(MaterialError, match=rf"^{kind} needs the {extra} extra: "):
        craft("m", path)


def test_public_good_root_without_sigstore(monkeypatch: pytest.MonkeyPatch) -> None:
    _uninstall(monkeypatch, "sigstore")
    with pytest.raises(InvalidInput, match=r"public-good extra: pip install 'chainproof\["):
        TrustedRoot.public_good()


def _require_calls() -> Iterator[tuple[str, str]]:
    """(path, extra) of every ``require(module, extra, ...)`` in src/chainproof."""
    for path in sorted((ROOT / "src" / "chainproof").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "require":
                extra = node.args[1]
                assert isinstance(extra, ast.Constant), f"{path}: give the extra literally"
                yield str(path.relative_to(ROOT)), str(extra.value)


def _included(extras: dict[str, list[str]], name: str) -> set[str]:
    """The extras ``name`` pulls through ``chainproof[...]`` requirements, itself included."""
    found = {name}
    for requirement in extras[name]:
        match = re.fullmatch(r"chainproof\[([\w,-]+)\].*", requirement)
        if match:
            found |= {i for e in match[1].split(",") for i in _included(extras, e)}
    return found


def test_every_required_extra_is_declared_and_in_all_and_test() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras: dict[str, list[str]] = pyproject["project"]["optional-dependencies"]
    calls = list(_require_calls())
    assert len(calls) == 5  # four evidence kinds and verify --public-good
    for path, extra in calls:
        assert extra in extras, f"{path} requires an undeclared extra {extra!r}"
        assert extra in _included(extras, "all") and extra in _included(extras, "test")
        if "/core/materials/" in path:  # the control plane validates every kind
            assert extra in _included(extras, "server"), f"server lacks {extra!r}"
