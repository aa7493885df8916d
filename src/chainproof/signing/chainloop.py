"""What verifying a bundle signed by Chainloop takes beyond the Sigstore profile.

Chainloop's control plane issues short-lived signing certificates from its own CA
(``pkg/attestation/verifier`` in Chainloop checks them with cosign's
``ValidateAndUnpackCertWithChain``): the leaf names the organisation in its subject
(``O=<org id>``) and carries no SAN; the CA may have no key usage extension; and a bundle
without an RFC 3161 timestamp is checked at the leaf's own ``notBefore``. Older Chainloop
CLIs also base64-encoded the DER signature once more before DSSE encoded it. This module
holds those differences, so :class:`~chainproof.signing.verifier.Verifier` applies them only
when asked to (``chainloop=True``; ``chainproof verify --ca``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store
from cryptography.x509.verification import VerificationError as X509Error

from chainproof.errors import VerificationError
from chainproof.signing.identity import SignerIdentity
from chainproof.signing.trust import Authority

__all__ = ["TIME_SOURCE", "leaf_identity", "signature_der", "verify_chain"]

TIME_SOURCE = "the certificate's issue time: the bundle carries no timestamp, as Chainloop checks"


def signature_der(sig: bytes) -> bytes:
    """The DER signature: ``sig`` itself, or what it decodes to when a Chainloop CLI encoded
    it once more (base64 text of a DER SEQUENCE)."""
    if not sig or sig[0] == 0x30:
        return sig
    try:
        decoded = base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        return sig
    return decoded if decoded[:1] == b"\x30" else sig


def leaf_identity(cert: x509.Certificate) -> SignerIdentity:
    """A SAN when the leaf has one, else its subject (Chainloop: ``O=<organisation id>``)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    if san is not None:
        names = [str(u) for u in san.get_values_for_type(x509.UniformResourceIdentifier)]
        names += [str(e) for e in san.get_values_for_type(x509.RFC822Name)]
        if len(names) == 1:
            return SignerIdentity(names[0], None)
    subject = cert.subject.rfc4514_string()
    if not subject:
        raise VerificationError("identity check failed: the certificate names no subject")
    return SignerIdentity(subject, None)


def verify_chain(
    leaf: x509.Certificate, authorities: Sequence[Authority], at: datetime
) -> list[x509.Certificate]:
    """RFC 5280 path validation from ``leaf`` to a trusted CA at ``at``, with the extension
    checks Chainloop's certificates pass (a CA needs basic constraints, a leaf no SAN); the
    code-signing usage is still demanded by the caller. Returns the chain above the leaf."""
    anchors = [
        c
        for a in authorities
        if a.validity.contains(at)
        for c in a.chain
        if c.not_valid_before_utc <= at <= c.not_valid_after_utc
    ]
    issuer = leaf.issuer.rfc4514_string()
    if not any(c.subject == leaf.issuer for a in authorities for c in a.chain):
        raise VerificationError(
            f"certificate chain check failed: issuer {issuer!r} is not a trusted CA",
            hint="give the certificate of the CA that issued it (--ca FILE)",
        )
    if not anchors:
        raise VerificationError(
            f"certificate chain check failed: no trusted CA is valid at {at:%Y-%m-%d %H:%M:%S} UTC"
        )
    ca_policy = ExtensionPolicy.permit_all().require_present(
        x509.BasicConstraints, Criticality.AGNOSTIC, None
    )
    verifier = (
        PolicyBuilder()
        .store(Store(anchors))
        .time(at)
        .extension_policies(ca_policy=ca_policy, ee_policy=ExtensionPolicy.permit_all())
        .build_client_verifier()
    )
    try:
        return list(verifier.verify(leaf, []).chain[1:])
    except X509Error as err:
        raise VerificationError(
            f"certificate chain check failed: not issued by a trusted CA named {issuer!r} ({err})"
        ) from None
