"""The typed material descriptor: what render_statement writes reads back; every malformed
entry is refused with a message naming the material."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from chainproof.core.bundle import Bundle
from chainproof.core.digest import Digest
from chainproof.core.dsse import Envelope, Signature
from chainproof.core.materials.base import CraftedMaterial
from chainproof.core.statement import (
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    MaterialDescriptor,
    Statement,
    _descriptor,
    canonical_json,
)
from chainproof.errors import InvalidInput

SHA = "a" * 64
DIGEST = Digest("sha256", SHA)


def _entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "sbom",
        "digest": {"sha256": SHA},
        "annotations": {
            "chainproof.material.name": "sbom",
            "chainproof.material.kind": "SBOM_CYCLONEDX_JSON",
            "chainproof.material.size": "120",
            "chainproof.material.cas": "true",
            "chainproof.material.output": "false",
        },
    }
    entry.update(changes)
    return entry


def _with_annotations(**notes: str) -> dict[str, Any]:
    entry = _entry()
    entry["annotations"] = {**entry["annotations"], **notes}
    return entry


def test_a_file_uploaded_to_the_cas() -> None:
    m = MaterialDescriptor.parse(
        _with_annotations(
            **{"chainproof.material.filename": "bom.json", "chainproof.material.summary": "{}"}
        )
    )
    assert (m.name, m.kind, m.digest, m.size, m.filename) == (
        "sbom",
        "SBOM_CYCLONEDX_JSON",
        DIGEST,
        120,
        "bom.json",
    )
    assert m.in_cas and not m.inline and not m.output
    assert m.content is None and m.value is None
    assert m.summary == {}
    assert m.annotations["chainproof.material.kind"] == "SBOM_CYCLONEDX_JSON"


def test_a_string_value_and_an_inline_file() -> None:
    value = MaterialDescriptor.parse(
        _entry(content=base64.b64encode("stable ü".encode()).decode(), annotations={})
    )
    assert value.content == "stable ü".encode() and value.value == "stable ü"
    assert value.kind == "ARTIFACT" and value.size is None and not value.in_cas
    inline = MaterialDescriptor.parse(
        _with_annotations(**{"chainproof.material.inline": "TRUE"})
        | {"content": base64.b64encode(b"doc").decode()}
    )
    assert inline.inline and inline.content == b"doc"
    assert inline.value is None  # an inline file's bytes are not a value
    binary = MaterialDescriptor.parse(_entry(content=base64.b64encode(b"\xff").decode()))
    assert binary.content == b"\xff" and binary.value is None


def test_sha256_preferred_else_the_first_algorithm() -> None:
    both = MaterialDescriptor.parse(_entry(digest={"sha512": "b" * 128, "sha256": SHA}))
    assert both.digest == DIGEST
    other = MaterialDescriptor.parse(_entry(digest={"sha512": "b" * 128, "sha1": "c" * 40}))
    assert other.digest == Digest("sha1", "c" * 40)


def test_the_name_annotation_wins_over_the_descriptor_name() -> None:
    assert MaterialDescriptor.parse(_entry(name="other")).name == "sbom"
    assert MaterialDescriptor.parse(_entry(annotations=None)).name == "sbom"


def test_what_render_statement_writes_reads_back() -> None:
    crafted = CraftedMaterial(
        name="bin",
        kind="ARTIFACT",
        digest=DIGEST,
        size=7,
        filename="app.bin",
        annotations={"tool": "make"},
        output=True,
        summary={"files": 1},
        upload_path=Path("app.bin"),
    )
    m = MaterialDescriptor.parse(_descriptor(crafted))
    assert (m.name, m.kind, m.size, m.filename) == ("bin", "ARTIFACT", 7, "app.bin")
    assert m.digest == DIGEST
    assert m.in_cas and m.output and not m.inline
    assert m.summary == {"files": 1} and m.annotations["tool"] == "make"


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ("sbom", "material 3 of the statement is not an object"),
        (_entry(annotations=["x"]), "material 3 of the statement has annotations not all text"),
        (
            _with_annotations(**{"chainproof.material.size": 120}),  # type: ignore[arg-type]
            "has annotations not all text",
        ),
        (_entry(name="", annotations={}), "material 3 of the statement has no name"),
        (_entry(name=7, annotations={}), "has no name"),
        (_entry(digest=None), "material 'sbom' has no digest"),
        (_entry(digest={}), "material 'sbom' has no digest"),
        (_entry(digest={"sha256": 1}), "material 'sbom' has a malformed digest"),
        (_entry(digest={"sha256": "ABC"}), "material 'sbom': not a valid sha256 digest"),
        (_entry(digest={"gitCommit": "c" * 40}), "not a valid gitCommit digest"),
        (_with_annotations(**{"chainproof.material.cas": "yes"}), "cas is 'yes', not true"),
        (_with_annotations(**{"chainproof.material.inline": ""}), "inline is '', not true"),
        (_with_annotations(**{"chainproof.material.output": "1"}), "output is '1'"),
        (_with_annotations(**{"chainproof.material.size": "-1"}), "size '-1' is not a number"),
        (_with_annotations(**{"chainproof.material.size": "١٢"}), "is not a number of bytes"),
        (_with_annotations(**{"chainproof.material.summary": "[1]"}), "summary is not a JSON"),
        (_with_annotations(**{"chainproof.material.summary": "{"}), "summary is not a JSON"),
        (_entry(content=12), "its content is not base64 text"),
        (_entry(content="not base64!"), "its content is not valid base64"),
    ],
)
def test_malformed_entries_are_refused(entry: Any, needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle) as caught:
        MaterialDescriptor.parse(entry, 3)
    assert caught.value.hint  # says what a well-formed entry is


def _statement(predicate: dict[str, Any], predicate_type: str = PREDICATE_TYPE) -> Statement:
    return Statement.from_json(
        {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": "a", "digest": {"sha256": SHA}}],
            "predicateType": predicate_type,
            "predicate": predicate,
        }
    )


def test_statement_materials() -> None:
    st = _statement({"materials": [_entry(), _entry(name="x", annotations={})]})
    assert [m.name for m in st.materials] == ["sbom", "x"]
    assert st.materials is st.materials  # parsed once
    assert _statement({}).materials == ()
    with pytest.raises(InvalidInput, match="materials is not a list"):
        _ = _statement({"materials": {"a": 1}}).materials
    with pytest.raises(InvalidInput, match="material 1 of the statement is not an object"):
        _ = _statement({"materials": [_entry(), 5]}).materials
    with pytest.raises(InvalidInput, match="not a chainproof attestation"):
        _ = _statement({"materials": []}, "https://slsa.dev/provenance/v1").materials


def _envelope(payload: Any, payload_type: str = PAYLOAD_TYPE) -> Envelope:
    data = payload if isinstance(payload, bytes) else canonical_json(payload)
    return Envelope(payload=data, payload_type=payload_type, signatures=(Signature(b"sig"),))


def test_statement_from_envelope_and_bundle() -> None:
    doc = _statement({"materials": [_entry()]}).to_dict()
    assert Statement.from_envelope(_envelope(doc)).to_dict() == doc
    with pytest.raises(InvalidInput, match="payload type is 'text/plain', not application"):
        Statement.from_envelope(_envelope(doc, "text/plain"))
    with pytest.raises(InvalidInput, match="not JSON"):
        Statement.from_envelope(_envelope(b"{"))
    with pytest.raises(InvalidInput, match="no subject"):
        Statement.from_envelope(_envelope({**doc, "subject": []}))
    bundle = Bundle(envelope=_envelope(doc), public_key_hint="k")
    assert Statement.from_bundle(bundle).materials[0].digest == DIGEST
    assert json.loads(Statement.from_bundle(bundle).to_json()) == doc
