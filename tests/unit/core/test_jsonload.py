"""The strict JSON reader (core/jsonload.py) and the documents read with it: a repeated key
or runaway nesting is a clear InvalidInput (exit 2), never the last value or a RecursionError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chainproof.core import jsonload
from chainproof.core.bundle import Bundle
from chainproof.core.contract import Contract
from chainproof.core.dsse import Envelope, Signature
from chainproof.core.materials.sbom_cyclonedx_json import CycloneDXJsonHandler
from chainproof.core.statement import Statement
from chainproof.errors import ContractError, InvalidInput, MaterialError

ASSETS = Path(__file__).parents[2] / "assets"
SBOM = ASSETS / "materials" / "sboms" / "cyclonedx-py-1.6.json"
DEEP = "[" * 100_000 + "]" * 100_000


def _repeat_first_key(text: str, key: str, value: str) -> str:
    """``text`` with ``"key": value`` inserted before the first ``"key"``: a repeated key."""
    at = text.index(f'"{key}"')
    return text[:at] + f'"{key}": {value}, ' + text[at:]


def test_a_repeated_key_is_refused_naming_it() -> None:
    with pytest.raises(jsonload.JsonError, match='duplicate key "digest"') as caught:
        jsonload.loads('{"a": {"digest": "A", "digest": "B"}}')
    assert caught.value.exit_code == 2 and caught.value.http_status == 400
    assert isinstance(caught.value, ValueError)  # callers that catch ValueError still wrap it


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(jsonload.JsonError, match="nested too deeply"):
        jsonload.loads(DEEP)


def test_plain_json_reads_as_json_loads_does() -> None:
    text = SBOM.read_text(encoding="utf-8")
    assert jsonload.loads(text) == json.loads(text)
    assert jsonload.loads(b'{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    with pytest.raises(json.JSONDecodeError):
        jsonload.loads("{")


def _envelope_json() -> str:
    return Envelope(b'{"_type":"x"}', "application/vnd.in-toto+json", (Signature(b"s"),)).to_json()


def test_a_bundle_with_a_repeated_key_is_refused() -> None:
    text = Bundle(envelope=Envelope.from_json(_envelope_json()), public_key_hint="aA==").to_json()
    Bundle.from_json(text)  # the untouched bundle reads
    doubled = _repeat_first_key(text, "mediaType", '"application/x-other"')
    with pytest.raises(InvalidInput, match='duplicate key "mediaType"'):
        Bundle.from_json(doubled)
    with pytest.raises(InvalidInput, match="nested too deeply"):
        Bundle.from_json(DEEP)


def test_a_dsse_envelope_with_a_repeated_key_is_refused() -> None:
    doubled = _repeat_first_key(_envelope_json(), "payload", '"e30="')
    with pytest.raises(InvalidInput, match='duplicate key "payload"'):
        Envelope.from_json(doubled)


def test_a_statement_with_a_repeated_key_is_refused() -> None:
    text = json.dumps({"_type": "https://in-toto.io/Statement/v1", "subject": []})
    with pytest.raises(InvalidInput, match='duplicate key "subject"'):
        Statement.from_json(_repeat_first_key(text, "subject", "[]"))


def test_a_json_contract_with_a_repeated_key_is_refused() -> None:
    text = (ASSETS / "contracts" / "current.json").read_text(encoding="utf-8")
    Contract.parse(text, source="c.json")
    with pytest.raises(ContractError, match="duplicate key"):
        Contract.parse(_repeat_first_key(text, "kind", '"Contract"'), source="c.json")


def test_an_sbom_with_a_repeated_key_is_refused_naming_the_file(tmp_path: Path) -> None:
    sbom = tmp_path / "app.cdx.json"
    text = SBOM.read_text(encoding="utf-8")
    sbom.write_text(_repeat_first_key(text, "specVersion", '"1.2"'), encoding="utf-8")
    with pytest.raises(MaterialError, match=r'app\.cdx\.json .*duplicate key "specVersion"'):
        CycloneDXJsonHandler().craft("sbom", str(sbom))


def test_a_deeply_nested_sbom_is_a_clear_error(tmp_path: Path) -> None:
    sbom = tmp_path / "deep.cdx.json"
    sbom.write_text('{"bomFormat": "CycloneDX", "components": ' + DEEP + "}", encoding="utf-8")
    with pytest.raises(MaterialError, match=r"deep\.cdx\.json .*nested too deeply"):
        CycloneDXJsonHandler().craft("sbom", str(sbom))
