"""DSSE envelopes and Sigstore bundles: wire format, parsing errors, interop."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.exceptions import VerificationError as SslibVerificationError
from securesystemslib.signer import SSlibKey

from chainproof.core.bundle import MEDIA_TYPE_V03, Bundle
from chainproof.core.dsse import Envelope, Signature, pae
from chainproof.errors import InvalidInput
from chainproof.signing.signer import KeySigner


def test_pae_matches_the_spec_vector() -> None:
    # DSSE protocol.md test vector
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_envelope_round_trips() -> None:
    env = Envelope(b'{"a":1}', "application/vnd.in-toto+json", (Signature(b"\x01\x02", "k1"),))
    data = env.to_dict()
    assert data["payload"] == base64.b64encode(b'{"a":1}').decode()
    assert Envelope.from_dict(data) == env
    assert Envelope.from_json(json.dumps(data)) == env


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"payload": "e30=", "signatures": []}, "payloadType"),
        ({"payload": "e30=", "payloadType": "t"}, "signatures"),
        ({"payload": "%%%", "payloadType": "t", "signatures": []}, "base64"),
        ({"payload": "e30=", "payloadType": "t", "signatures": [{"sig": 5}]}, "base64"),
    ],
)
def test_malformed_envelopes_are_refused(data: dict[str, object], needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle):
        Envelope.from_dict(data)


def _key_bundle() -> tuple[Bundle, KeySigner]:
    signer = KeySigner(ec.generate_private_key(ec.SECP256R1()))
    statement = {"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicate": {}}
    return signer.sign(statement), signer


def test_bundle_round_trips_with_stable_digest() -> None:
    bundle, signer = _key_bundle()
    data = bundle.to_dict()
    assert data["mediaType"] == MEDIA_TYPE_V03
    assert data["verificationMaterial"]["publicKey"]["hint"] == signer.hint
    again = Bundle.from_json(bundle.to_json())
    assert again.to_json() == bundle.to_json()
    assert again.digest() == bundle.digest()


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda b: b.update(mediaType="application/json"), "media type"),
        (lambda b: b.pop("dsseEnvelope"), "dsseEnvelope"),
        (lambda b: b.update(verificationMaterial={}), "neither a certificate"),
        (
            lambda b: b["verificationMaterial"].update(certificate={"rawBytes": "!!"}),
            "base64",
        ),
    ],
)
def test_malformed_bundles_are_refused(mutate: object, needle: str) -> None:
    bundle, _ = _key_bundle()
    data = bundle.to_dict()
    if needle == "base64":
        del data["verificationMaterial"]["publicKey"]
    mutate(data)  # type: ignore[operator]
    with pytest.raises(InvalidInput, match=needle):
        Bundle.from_json(data)


def test_bundle_that_is_not_json_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not JSON"):
        Bundle.from_json(b"{nope")


def _sslib_envelope(data: dict[str, object]) -> SslibEnvelope:
    data = copy.deepcopy(data)
    for sig in data["signatures"]:  # type: ignore[union-attr]
        sig["keyid"] = "k"  # securesystemslib requires a keyid; DSSE makes it optional
    return SslibEnvelope.from_dict(data)


def test_our_dsse_envelope_verifies_with_securesystemslib() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    bundle = KeySigner(key).sign({"_type": "https://in-toto.io/Statement/v1", "subject": []})
    ssl_key = SSlibKey.from_crypto(key.public_key(), keyid="k")
    envelope = bundle.to_dict()["dsseEnvelope"]
    assert set(_sslib_envelope(envelope).verify([ssl_key], 1)) == {"k"}

    envelope["payload"] = base64.b64encode(b'{"evil":true}').decode()
    with pytest.raises(SslibVerificationError):
        _sslib_envelope(envelope).verify([ssl_key], 1)
