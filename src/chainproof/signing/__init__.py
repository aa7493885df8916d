"""Signing and verifying chainproof attestations (docs/architecture.md §9).

* :mod:`chainproof.signing.ca`: an organisation's CA, issuing short-lived certificates;
* :mod:`chainproof.signing.tsa`: the RFC 3161 timestamp authority issuing timestamp tokens;
* :mod:`chainproof.signing.signer`: keyless (ephemeral key + certificate) and key-file
  signers, producing Sigstore bundles;
* :mod:`chainproof.signing.verifier`: the bundle verifier (any Sigstore bundle, offline);
* :mod:`chainproof.signing.identity`: signer identities and the policies that accept them;
* :mod:`chainproof.signing.trust`: the Sigstore trusted root (writing ours, reading any);
* :mod:`chainproof.signing.logentry`, :mod:`~chainproof.signing.checkpoint`,
  :mod:`~chainproof.signing.sct`, :mod:`~chainproof.signing.timestamp`: the checks of
  transparency-log entries, signed checkpoints, embedded SCTs and RFC 3161 timestamps.

Signers never verify and the verifier never signs (docs/contributing.md §3). Import from the
modules; this package re-exports nothing so that importing it stays cheap.
"""
