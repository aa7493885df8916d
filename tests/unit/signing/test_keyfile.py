"""Key files: cosign's encrypted format (real cosign keys, go-securesystemslib's vectors,
our own round trip) and PKCS#8 PEM, with the errors a user sees."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from chainproof.errors import InvalidInput
from chainproof.signing.keyfile import (
    COSIGN_PEM_TYPES,
    decrypt_cosign_key,
    encrypt_cosign_key,
    generate_key_pair,
    load_private_key,
    public_key_pem,
)
from chainproof.signing.signer import KeySigner
from chainproof.signing.verifier import KeyIdentity, Verifier

COSIGN = Path(__file__).parents[2] / "assets" / "signing" / "cosign"
STATEMENT = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "x", "digest": {"sha256": "0" * 64}}],
    "predicateType": "https://chainproof.dev/attestation/v1",
    "predicate": {},
}


# go-securesystemslib encrypted/encrypted_test.go (MIT licence, (c) the secure-systems-lab
# authors). TestDecrypt's vector holds "reallyimportant" under "supersecret"; its kdfVectors
# (one per scrypt setting it writes) hold the same text after Marshal, i.e. as the JSON
# string of its base64.
def _ssl(n: int, salt: str, nonce: str, ciphertext: str, r: int = 8, p: int = 1) -> str:
    return json.dumps(
        {
            "kdf": {"name": "scrypt", "params": {"N": n, "r": r, "p": p}, "salt": salt},
            "cipher": {"name": "nacl/secretbox", "nonce": nonce},
            "ciphertext": ciphertext,
        }
    )


SSL_DECRYPT = _ssl(
    32768,
    "N9a7x5JFGbrtB2uBR81jPwp0eiLR4A7FV3mjVAQrg1g=",
    "2h8HxMmgRfuYdpswZBQaU3xJ1nkA/5Ik",
    "SEW6sUh0jf2wfdjJGPNS9+bkk2uB+Cxamf32zR8XkQ==",
)
SSL_VECTORS = [
    _ssl(
        32768,
        "WO3mVvyTwJ9vwT5/Tk5OW5WPIBUofMjcpEfrLnfY4uA=",
        "tCy7HcTFr4uxv4Nrg/DWmncuZ148U1MX",
        "08n43p5G5yviPEZpO7tPPF4aZQkWiWjkv4taFdhDBA0tamKH4nw=",
    ),
    _ssl(
        65536,
        "FhzPOt9/bJG4PTq6lQ6ecG6GzaOuOy/ynG5+yRiFlNs=",
        "aw1ng1jHaDz/tQ7V2gR9O2+IGQ8xJEuE",
        "HycvuLZL4sYH0BrYTh4E/H20VtAW6u5zL5Pr+IBjYLYnCPzDkq8=",
    ),
    _ssl(
        131072,
        "m38E3kouJTtiheLQN22NQ8DTito5hrjpUIskqcd375k=",
        "Y6PM13yA+o44pE/W1ZBwczeGnTV/m9Zc",
        "6H8sqj1K6B6yDjtH5AQ6lbFigg/C2yDDJc4rYJ79w9aVPImFIPI=",
    ),
]
SSL_UNSUPPORTED = _ssl(
    99,
    "cZFcQJdwPhPyhU1R4qkl0qVOIjZd4V/7LYYAavq166k=",
    "7vhRS7j0hEPBWV05skAdgLj81AkGeE7U",
    "6WYU/YSXVbYzl/NzaeAzmjLyfFhOOjLc0d8/GFV0aBFdJvyCcXc=",
    r=99,
    p=99,
)


def _verifies(key_pem: bytes, password: bytes | None) -> None:
    signer = KeySigner.from_pem(key_pem, password)
    bundle = signer.sign(STATEMENT)
    Verifier(public_keys=[signer.public_key_pem]).verify(
        bundle, KeyIdentity.of_pem(signer.public_key_pem)
    )


@pytest.mark.parametrize("name", ["sigstore-labelled.key", "cosign-labelled.key"])
def test_real_cosign_keys_decrypt_with_their_password(name: str) -> None:
    data = (COSIGN / name).read_bytes()
    key = load_private_key(data, b"hello")
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    _verifies(data, b"hello")
    with pytest.raises(InvalidInput, match="wrong password") as caught:
        load_private_key(data, b"goodbye")
    assert "COSIGN_PASSWORD" in (caught.value.hint or "")
    with pytest.raises(InvalidInput, match="encrypted and no password was given"):
        load_private_key(data, None)


def test_go_securesystemslib_decrypt_vector() -> None:
    assert decrypt_cosign_key(SSL_DECRYPT.encode(), b"supersecret") == b"reallyimportant"


@pytest.mark.parametrize("vector", SSL_VECTORS)
def test_go_securesystemslib_kdf_vectors(vector: str) -> None:
    marshalled = decrypt_cosign_key(vector.encode(), b"supersecret")
    assert base64.b64decode(json.loads(marshalled)) == b"reallyimportant"
    with pytest.raises(InvalidInput, match="wrong password"):
        decrypt_cosign_key(vector.encode(), b"Supersecret")


def test_unsupported_scrypt_parameters_are_refused_before_any_work() -> None:
    with pytest.raises(InvalidInput, match="unsupported scrypt parameters"):
        decrypt_cosign_key(SSL_UNSUPPORTED.encode(), b"supersecret")


def test_generated_key_pair_is_cosigns_format_and_round_trips() -> None:
    key_pem, pub_pem = generate_key_pair(b"s3cret")
    assert key_pem.startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    lines = key_pem.splitlines()[1:-1]
    assert all(len(line) <= 64 for line in lines)  # Go's encoding/pem line length
    document = json.loads(base64.b64decode(b"".join(lines)))
    assert set(document) == {"kdf", "cipher", "ciphertext"}
    assert document["kdf"]["name"] == "scrypt"
    assert document["kdf"]["params"] == {"N": 32768, "r": 8, "p": 1}
    assert len(base64.b64decode(document["kdf"]["salt"])) == 32
    assert document["cipher"]["name"] == "nacl/secretbox"
    assert len(base64.b64decode(document["cipher"]["nonce"])) == 24
    # the plaintext is the PKCS#8 DER of the key whose public half is cosign.pub
    der = decrypt_cosign_key(json.dumps(document).encode(), b"s3cret")
    key = serialization.load_der_private_key(der, None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert public_key_pem(key) == pub_pem
    assert pub_pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    _verifies(key_pem, b"s3cret")
    with pytest.raises(InvalidInput, match="wrong password"):
        load_private_key(key_pem, b"S3cret")
    # two generations never share salt, nonce or key
    again, _ = generate_key_pair(b"s3cret")
    assert again != key_pem


def test_empty_password_like_cosign() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = encrypt_cosign_key(key, b"")
    assert load_private_key(pem, None).public_key() == key.public_key()
    assert load_private_key(pem, b"").public_key() == key.public_key()


def test_pkcs8_keys_clear_and_encrypted() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    clear = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    locked = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    _verifies(clear, None)
    _verifies(locked, b"pw")
    with pytest.raises(InvalidInput, match="not encrypted"):
        load_private_key(clear, b"pw")
    with pytest.raises(InvalidInput, match="no password was given"):
        load_private_key(locked, None)
    with pytest.raises(InvalidInput, match="wrong password"):
        load_private_key(locked, b"nope")


def test_unsupported_and_malformed_files() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidInput, match="ECDSA"):
        load_private_key(encrypt_cosign_key(rsa_key, b"pw"), b"pw")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="not a PEM private key"):
        load_private_key(b"hello", None)
    public = public_key_pem(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(InvalidInput, match="not a PEM private key"):
        load_private_key(public, None)
    label = COSIGN_PEM_TYPES[0]
    damaged = f"-----BEGIN {label}-----\nbm90IGpzb24=\n-----END {label}-----\n".encode()
    with pytest.raises(InvalidInput, match="not cosign's encrypted key format"):
        load_private_key(damaged, b"pw")
    not_b64 = f"-----BEGIN {label}-----\n@@@\n-----END {label}-----\n".encode()
    with pytest.raises(InvalidInput, match="damaged PEM"):
        load_private_key(not_b64, b"pw")
    # a tampered ciphertext does not open (the secretbox is authenticated)
    good = (COSIGN / "sigstore-labelled.key").read_bytes()
    body = base64.b64decode(b"".join(good.splitlines()[1:-1]))
    document = json.loads(body)
    sealed = bytearray(base64.b64decode(document["ciphertext"]))
    sealed[-1] ^= 1
    document["ciphertext"] = base64.b64encode(bytes(sealed)).decode()
    with pytest.raises(InvalidInput, match="wrong password"):
        decrypt_cosign_key(json.dumps(document).encode(), b"hello")
    with pytest.raises(InvalidInput, match="too large"):
        load_private_key(b"x" * 70000, None)
