"""Signing key files: PKCS#8 PEM (clear or password-encrypted) and cosign's encrypted format.

cosign (``cosign generate-key-pair``, sigstore/cosign ``pkg/cosign/keys.go``) writes the
private key as a PEM block ``ENCRYPTED SIGSTORE PRIVATE KEY`` (older releases: ``ENCRYPTED
COSIGN PRIVATE KEY``) whose body is the JSON of go-securesystemslib's ``encrypted`` package::

    {"kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": b64(32 bytes)},
     "cipher": {"name": "nacl/secretbox", "nonce": b64(24 bytes)},
     "ciphertext": b64(secretbox(PKCS#8 DER, nonce, scrypt(password, salt, 32 bytes)))}

and the public key as a PKIX ``PUBLIC KEY`` PEM. Scrypt is cryptography's; the secretbox
(XSalsa20-Poly1305) is PyNaCl's. Like go-securesystemslib, only the three scrypt settings it
writes are accepted on reading (N = 2^15, 2^16 or 2^17 with r = 8, p = 1), so a hostile key
file cannot make chainproof spend gigabytes of memory.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from chainproof.core import jsonload
from chainproof.errors import InvalidInput
from chainproof.signing._keys import PrivateKey

__all__ = [
    "COSIGN_PEM_TYPES",
    "decrypt_cosign_key",
    "encrypt_cosign_key",
    "generate_key_pair",
    "load_private_key",
    "public_key_pem",
]

#: PEM labels of cosign's encrypted private keys (the first is what cosign writes today).
COSIGN_PEM_TYPES = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")
MAX_KEY_FILE = 64 * 1024
_SCRYPT_N = 32768  # go-securesystemslib's default ("Legacy") setting, what cosign writes
_ACCEPTED_SCRYPT = {(32768, 8, 1), (65536, 8, 1), (131072, 8, 1)}
_SALT = 32
_KEY = 32
_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----", re.DOTALL)
_PASSWORD_HINT = "set COSIGN_PASSWORD (or pass --key-password) to the key's password"  # noqa: S105


def _pem_block(data: bytes) -> tuple[str, bytes] | None:
    match = _PEM.search(data)
    if match is None:
        return None
    try:
        body = base64.b64decode(b"".join(match.group(2).split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("the signing key file holds a damaged PEM block") from None
    return match.group(1).decode("ascii"), body


def _scrypt_key(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=_KEY, n=n, r=r, p=p).derive(password)


def encrypt_cosign_key(key: PrivateKey, password: bytes) -> bytes:
    """``key`` as cosign's ``ENCRYPTED SIGSTORE PRIVATE KEY`` PEM, under ``password``."""
    import nacl.secret

    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt = os.urandom(_SALT)
    nonce = os.urandom(nacl.secret.SecretBox.NONCE_SIZE)
    box = nacl.secret.SecretBox(_scrypt_key(password, salt, _SCRYPT_N, 8, 1))
    sealed = box.encrypt(der, nonce).ciphertext
    document = {
        "kdf": {
            "name": "scrypt",
            "params": {"N": _SCRYPT_N, "r": 8, "p": 1},
            "salt": base64.b64encode(salt).decode(),
        },
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    text = base64.b64encode(json.dumps(document, separators=(",", ":")).encode())
    # 64-character lines, as Go's encoding/pem (and so cosign) writes them
    body = b"".join(text[i : i + 64] + b"\n" for i in range(0, len(text), 64))
    label = COSIGN_PEM_TYPES[0].encode()
    return b"-----BEGIN %s-----\n%s-----END %s-----\n" % (label, body, label)


def _field(document: Any, *path: str) -> Any:
    value = document
    for name in path:
        if not isinstance(value, dict) or name not in value:
            raise InvalidInput(f"the cosign key has no {'.'.join(path)}")
        value = value[name]
    return value


def _b64_field(document: Any, *path: str) -> bytes:
    value = _field(document, *path)
    try:
        if isinstance(value, str):
            return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        pass
    raise InvalidInput(f"the cosign key's {'.'.join(path)} is not base64")


def decrypt_cosign_key(body: bytes, password: bytes) -> bytes:
    """The PKCS#8 DER inside a cosign key's PEM body (its JSON document).

    Raises InvalidInput for a malformed document, scrypt settings other than cosign's, or a
    wrong password (the secretbox does not open).
    """
    import nacl.exceptions
    import nacl.secret

    try:
        document = jsonload.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the cosign key is not cosign's encrypted key format") from None
    if _field(document, "kdf", "name") != "scrypt" or (
        _field(document, "cipher", "name") != "nacl/secretbox"
    ):
        raise InvalidInput("the cosign key uses a KDF or cipher other than scrypt and secretbox")
    params = _field(document, "kdf", "params")
    setting = tuple(params.get(k) for k in ("N", "r", "p")) if isinstance(params, dict) else ()
    if setting not in _ACCEPTED_SCRYPT:
        raise InvalidInput(f"the cosign key uses unsupported scrypt parameters {setting}")
    n, r, p = setting
    salt = _b64_field(document, "kdf", "salt")
    nonce = _b64_field(document, "cipher", "nonce")
    ciphertext = _b64_field(document, "ciphertext")
    if len(nonce) != nacl.secret.SecretBox.NONCE_SIZE or not salt:
        raise InvalidInput("the cosign key has a malformed salt or nonce")
    box = nacl.secret.SecretBox(_scrypt_key(password, salt, n, r, p))
    try:
        return box.decrypt(ciphertext, nonce)
    except nacl.exceptions.CryptoError:
        raise InvalidInput(
            "cannot decrypt the cosign key: wrong password", hint=_PASSWORD_HINT
        ) from None


def _check(key: object) -> PrivateKey:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in (
        "secp256r1",
        "secp384r1",
        "secp521r1",
    ):
        return key
    raise InvalidInput("signing keys must be ECDSA P-256/P-384/P-521 or Ed25519")


def load_private_key(data: bytes, password: bytes | None) -> PrivateKey:
    """A signing key from a key file: cosign's encrypted format, or PKCS#8 / SEC1 PEM
    (clear, or encrypted with ``password``).

    A cosign key with no password given is tried with the empty password, as cosign does
    with an empty ``COSIGN_PASSWORD``. Raises InvalidInput, naming what is wrong (not a
    key, encrypted without a password, wrong password, unsupported key type).
    """
    if len(data) > MAX_KEY_FILE:
        raise InvalidInput("the signing key file is too large to be a key")
    block = _pem_block(data)
    if block is not None and block[0] in COSIGN_PEM_TYPES:
        try:
            der = decrypt_cosign_key(block[1], password or b"")
        except InvalidInput as err:
            if password is None and "wrong password" in err.message:
                raise InvalidInput(
                    "the signing key is encrypted and no password was given",
                    hint=_PASSWORD_HINT,
                ) from None
            raise
        try:
            key = serialization.load_der_private_key(der, password=None)
        except (ValueError, UnsupportedAlgorithm):
            raise InvalidInput("the cosign key does not hold a PKCS#8 private key") from None
        return _check(key)
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except TypeError:
        if password is None:
            raise InvalidInput(
                "the signing key is encrypted and no password was given", hint=_PASSWORD_HINT
            ) from None
        raise InvalidInput("the signing key is not encrypted: give no password") from None
    except ValueError:
        raise InvalidInput(
            "cannot read the signing key: not a PEM private key, or a wrong password",
            hint="keys are PKCS#8 PEM or cosign's encrypted format (cosign.key)",
        ) from None
    except UnsupportedAlgorithm:
        raise InvalidInput("the signing key uses an unsupported algorithm") from None
    return _check(key)


def public_key_pem(key: PrivateKey) -> bytes:
    """The public key of ``key``, PKIX (SubjectPublicKeyInfo) PEM, as cosign writes it."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_key_pair(password: bytes) -> tuple[bytes, bytes]:
    """A new P-256 key pair as cosign writes it: (``cosign.key`` PEM encrypted under
    ``password``, ``cosign.pub`` PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return encrypt_cosign_key(key, password), public_key_pem(key)
