"""Sigstore bundle v0.3 JSON: writing, reading (v0.1-v0.3), refusing malformed input."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from chainproof.core.bundle import MEDIA_TYPE_V03, Bundle
from chainproof.core.digest import Digest
from chainproof.core.dsse import Envelope, Signature
from chainproof.errors import InvalidInput

ENVELOPE = Envelope(b'{"_type":"x"}', "application/vnd.in-toto+json", (Signature(b"sig"),))
LEAF = b"0\x82leaf-der"
CA = b"0\x82ca-der"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _cert_bundle() -> Bundle:
    return Bundle(envelope=ENVELOPE, certificate_chain_der=[LEAF])


def _key_bundle() -> Bundle:
    return Bundle(envelope=ENVELOPE, public_key_hint="aGludA==")


def test_certificate_bundle_is_v03_protobuf_json() -> None:
    assert _cert_bundle().to_dict() == {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {"rawBytes": _b64(LEAF)},
            "tlogEntries": [],
            "timestampVerificationData": {"rfc3161Timestamps": []},
        },
        "dsseEnvelope": {
            "payload": _b64(b'{"_type":"x"}'),
            "payloadType": "application/vnd.in-toto+json",
            "signatures": [{"sig": _b64(b"sig"), "keyid": ""}],
        },
    }


def test_key_bundle_carries_the_hint() -> None:
    bundle = _key_bundle()
    assert bundle.to_dict()["verificationMaterial"]["publicKey"] == {"hint": "aGludA=="}
    assert bundle.public_key_hint == "aGludA=="
    assert bundle.leaf_certificate_der is None


@pytest.mark.parametrize("make", [_cert_bundle, _key_bundle])
def test_round_trip_is_stable(make: Any) -> None:
    bundle = make()
    text = bundle.to_json()
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    for source in (text, text.encode(), json.loads(text)):
        again = Bundle.from_json(source)
        assert again.to_json() == text
        assert again.envelope == ENVELOPE
    assert bundle.digest() == Digest.of_bytes(text.encode())
    assert Bundle.from_json(text).digest() == bundle.digest()


def test_properties() -> None:
    bundle = Bundle.from_json(_cert_bundle().to_json())
    assert bundle.media_type == MEDIA_TYPE_V03
    assert bundle.leaf_certificate_der == LEAF
    assert bundle.public_key_hint is None
    assert bundle.envelope.signatures[0].sig == b"sig"


def test_older_bundles_with_a_chain_are_read_and_kept_as_given() -> None:
    data = _cert_bundle().to_dict()
    data["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2"
    material = data["verificationMaterial"]
    del material["certificate"]
    material["x509CertificateChain"] = {
        "certificates": [{"rawBytes": _b64(LEAF)}, {"rawBytes": _b64(CA)}]
    }
    bundle = Bundle.from_json(data)
    assert bundle.leaf_certificate_der == LEAF
    assert bundle.certificate_chain_der == (LEAF, CA)
    assert bundle.to_dict() == data


def test_tlog_entries_and_timestamps_are_kept_as_given() -> None:
    data = _cert_bundle().to_dict()
    entry = {"logIndex": "7", "kindVersion": {"kind": "dsse", "version": "0.0.1"}}
    data["verificationMaterial"]["tlogEntries"] = [entry]
    stamps = [{"signedTimestamp": _b64(b"tst")}]
    data["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"] = stamps
    bundle = Bundle.from_json(data)
    assert bundle.tlog_entries == (entry,)
    assert bundle.rfc3161_timestamps == (stamps[0],)
    assert bundle.to_dict() == data


def test_missing_optional_sections_are_written_empty() -> None:
    data = _key_bundle().to_dict()
    del data["verificationMaterial"]["tlogEntries"]
    del data["verificationMaterial"]["timestampVerificationData"]
    assert Bundle.from_json(data).to_dict() == _key_bundle().to_dict()


def _without_material(data: dict[str, Any]) -> dict[str, Any]:
    material = data["verificationMaterial"]
    material.pop("certificate", None)
    return data


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda b: b.update(mediaType="application/json"), "unsupported bundle media type"),
        (lambda b: b.pop("mediaType"), "unsupported bundle media type"),
        (
            lambda b: b.update(mediaType="application/vnd.dev.sigstore.bundle.v0.4+json"),
            "media type",
        ),
        (lambda b: b.pop("dsseEnvelope"), "no dsseEnvelope"),
        (lambda b: b.update(dsseEnvelope=[]), "dsseEnvelope must be a JSON object"),
        (lambda b: b.pop("verificationMaterial"), "verificationMaterial"),
        (lambda b: _without_material(b), "neither a certificate nor a public key"),
        (lambda b: b["verificationMaterial"].update(certificate={"rawBytes": "!!"}), "base64"),
        (lambda b: b["verificationMaterial"].update(certificate={}), "base64 string"),
        (lambda b: b["dsseEnvelope"].update(payload="not base64!"), "payload is not valid"),
        (
            lambda b: b["dsseEnvelope"]["signatures"][0].update(sig="@@@@"),
            "signature 0 is not valid base64",
        ),
        (lambda b: b["verificationMaterial"].update(tlogEntries={}), "tlogEntries"),
        (
            lambda b: b["verificationMaterial"].update(
                timestampVerificationData={"rfc3161Timestamps": [{"signedTimestamp": "!"}]}
            ),
            "RFC 3161",
        ),
    ],
)
def test_malformed_bundles_are_refused(mutate: Any, needle: str) -> None:
    data = _cert_bundle().to_dict()
    mutate(data)
    with pytest.raises(InvalidInput, match=needle):
        Bundle.from_json(data)


@pytest.mark.parametrize(
    ("material", "needle"),
    [
        ({"x509CertificateChain": {"certificates": []}}, "chain is empty"),
        ({"x509CertificateChain": []}, "JSON object"),
        ({"publicKey": {}}, "no hint"),
        ({"publicKey": {"hint": ""}}, "no hint"),
    ],
)
def test_malformed_verification_material_is_refused(material: Any, needle: str) -> None:
    data = _cert_bundle().to_dict()
    data["verificationMaterial"] = material
    with pytest.raises(InvalidInput, match=needle):
        Bundle.from_json(data)


@pytest.mark.parametrize("text", [b"{nope", b"[]", b"null", "\udcff"])
def test_bundle_that_is_not_a_json_object_is_refused(text: Any) -> None:
    with pytest.raises(InvalidInput):
        Bundle.from_json(text)


def test_a_bundle_needs_exactly_one_kind_of_material() -> None:
    with pytest.raises(InvalidInput, match="either a certificate or a public-key hint"):
        Bundle(envelope=ENVELOPE)
    with pytest.raises(InvalidInput, match="either a certificate or a public-key hint"):
        Bundle(envelope=ENVELOPE, certificate_chain_der=[LEAF], public_key_hint="h")
