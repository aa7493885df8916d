"""Signing and verifying chainproof attestations (DESIGN.md §9).

* :mod:`chainproof.signing.ca`: an organisation's CA, issuing short-lived certificates;
* :mod:`chainproof.signing.signer`: keyless (ephemeral key + certificate) and key-file
  signers, producing Sigstore bundles;
* :mod:`chainproof.signing.verifier`: the verifier and its identity policies;
* :mod:`chainproof.signing.trust`: the Sigstore-shaped trusted root.

Signers never verify and the verifier never signs (STYLE.md §3). Import from the modules;
this package re-exports nothing so that importing it stays cheap.
"""
