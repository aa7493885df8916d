"""The server's secret key: how services get it, and secrets at rest sealed under it.

**One way in.** The secret reaches services on their database session, nowhere else: the
app (and ``server init``'s bootstrap) makes its sessions with
``make_sessionmaker(engine, secret_key=...)``, which puts it in ``Session.info``, and a
service that seals, opens or signs with a key derived from it calls
:func:`server_secret` on the session it already has. No service function takes the secret
as an argument, and API handlers never read it from the settings; the only objects given
the secret directly are the ones built once at start-up with no session, from the same
settings (the CAS app, which checks its tokens' signatures, and the CAS backend factory).


The key is derived with HKDF-SHA256 from the server's secret key and a purpose string, so a
ciphertext of one purpose never opens under another. Each sealed value is ``nonce (12 bytes)
|| ciphertext+tag`` and is bound to the row it belongs to by associated data (its id), so a
ciphertext copied to another row does not open. Used by the remote crafting state
(services/run_state.py) and the credentials of CAS backends (services/cas_backends.py).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from chainproof.errors import ServiceError
from chainproof.server.db.session import SECRET_KEY_INFO

_NONCE = 12


def server_secret(session: Session) -> str:
    """The server's secret key, as ``session`` carries it (module docstring); ServiceError
    when the session was made without it."""
    key = session.info.get(SECRET_KEY_INFO)
    if not key:
        raise ServiceError(
            "the server's secret key is not available to this database session",
            hint="create sessions with make_sessionmaker(engine, secret_key=...)",
        )
    return str(key)


def cipher(master_key: str, purpose: bytes) -> AESGCM:
    """The AES-GCM cipher of ``purpose`` (the HKDF ``info``) under ``master_key``."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        master_key.encode()
    )
    return AESGCM(key)


def seal(master_key: str, purpose: bytes, plaintext: bytes, bound_to: str) -> bytes:
    """``nonce || AES-GCM(plaintext)`` with ``bound_to`` as associated data."""
    nonce = os.urandom(_NONCE)
    return nonce + cipher(master_key, purpose).encrypt(nonce, plaintext, bound_to.encode())


def unseal(master_key: str, purpose: bytes, sealed: bytes, bound_to: str, what: str) -> bytes:
    """The plaintext of :func:`seal`; ServiceError naming ``what`` when it does not open
    (another master key, another row, or damaged bytes)."""
    try:
        return cipher(master_key, purpose).decrypt(
            sealed[:_NONCE], sealed[_NONCE:], bound_to.encode()
        )
    except InvalidTag:
        raise ServiceError(
            f"the stored {what} cannot be decrypted",
            hint="was the server's secret key changed? the value must be entered again",
        ) from None
