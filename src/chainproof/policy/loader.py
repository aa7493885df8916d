"""Finding the policy or group an attachment names, and the scripts a policy references.

References, as in Chainloop's contracts (``ref`` of a policy or group attachment):

* a bare name, ``chainloop://name`` or ``chainproof://name``: a policy or group the
  organisation stores in the control plane (through the ``named`` callback, when given), else
  a built-in one (:mod:`chainproof.policy.builtin`);
* ``file://path`` (relative paths from ``base_dir``, the working directory by default);
* ``https://...`` (and ``http://``), fetched once per loader, at most 1 MB;
* any of them may end in ``@sha256:<hex>``: the document must have that digest. A stored
  document is looked up by its digest first (the ``pinned`` callback), so a pin keeps naming
  the revision it was written against after the policy moved on.

A policy's ``path:``/``ref:`` scripts are read relative to the policy file or URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from chainproof.errors import PolicyError
from chainproof.policy import builtin
from chainproof.policy.document import Policy, PolicyGroup, parse_document

__all__ = [
    "NamedResolver",
    "PinnedResolver",
    "PolicyLoader",
    "Reference",
    "parse_stored",
    "refuse_scripts",
]

MAX_FETCH_BYTES = 1024 * 1024
_PIN = re.compile(r"^(?P<ref>.+)@sha256:(?P<hex>[0-9a-fA-F]{64})$")
_NAMED = ("chainloop://", "chainproof://")

NamedResolver = Callable[[str], "tuple[bytes, str] | None"]
"""``named(name)``: the latest stored document called ``name`` (text, URI), or None."""
PinnedResolver = Callable[[str, str], "tuple[bytes, str] | None"]
"""``pinned(name, sha256_hex)``: the stored revision of ``name`` with that digest, or None."""


@dataclass(frozen=True)
class Reference:
    """Where a policy came from, for the evaluation record."""

    name: str
    uri: str | None
    digest: str

    def to_dict(self) -> dict[str, Any]:
        """Chainloop's ``policyReference`` form."""
        out: dict[str, Any] = {"name": self.name, "digest": {"sha256": self.digest}}
        if self.uri:
            out["uri"] = self.uri
        return out


def _fetch_url(url: str) -> bytes:
    import httpx

    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=30.0) as response:
            if response.status_code != 200:
                raise PolicyError(f"cannot fetch {url}: HTTP {response.status_code}", ref=url)
            data = b""
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > MAX_FETCH_BYTES:
                    raise PolicyError(f"{url} is larger than {MAX_FETCH_BYTES} bytes", ref=url)
            return data
    except httpx.HTTPError as err:
        raise PolicyError(f"cannot fetch {url}: {err}", ref=url) from None


class PolicyLoader:
    """Loads and caches the documents attachments refer to.

    ``fetch`` downloads an ``http(s)`` URL (tests pass a stub); ``base_dir`` anchors relative
    ``file://`` references; ``named`` looks a bare name up among the organisation's stored
    documents: their text and URI, or None to fall back to the built-in library. ``pinned``
    is asked first for a pinned bare name (``name@sha256:<hex>``), with the name and the hex
    digest, so that an older stored revision can answer; when it gives None, ``named`` is
    asked as for an unpinned name (and the pin is then checked against what it gave).
    Stored documents are self-contained (their Rego is embedded). With ``local_files`` False
    (the control plane), ``file://`` references are refused instead of read: they name files
    in a CI job's checkout, and the server must never read its own files on a contract's say.
    """

    def __init__(
        self,
        *,
        base_dir: Path | None = None,
        fetch: Callable[[str], bytes] | None = None,
        named: NamedResolver | None = None,
        pinned: PinnedResolver | None = None,
        local_files: bool = True,
    ) -> None:
        self.base_dir = base_dir
        self.fetch = fetch or _fetch_url
        self.named = named
        self.pinned = pinned
        self.local_files = local_files
        self._cache: dict[str, tuple[Policy | PolicyGroup, Reference]] = {}

    def policy(self, attachment: Mapping[str, Any]) -> tuple[Policy, Reference]:
        """The policy of a policy attachment (``ref`` or ``embedded``); PolicyError."""
        embedded = attachment.get("embedded")
        if isinstance(embedded, Mapping):
            policy = Policy.from_dict(embedded, source="embedded policy")
            return policy, Reference(policy.name, None, policy.digest)
        doc, ref = self.load(str(attachment.get("ref") or ""))
        if not isinstance(doc, Policy):
            raise PolicyError(f"{ref.uri or ref.name} is a PolicyGroup, not a Policy")
        return doc, ref

    def group(self, attachment: Mapping[str, Any]) -> tuple[PolicyGroup, Reference]:
        """The group of a policy group attachment; PolicyError."""
        doc, ref = self.load(str(attachment.get("ref") or ""))
        if not isinstance(doc, PolicyGroup):
            raise PolicyError(f"{ref.uri or ref.name} is a Policy, not a PolicyGroup")
        return doc, ref

    def load(self, ref: str) -> tuple[Policy | PolicyGroup, Reference]:
        """The document ``ref`` names (cached); PolicyError when it cannot be read or is
        invalid, or does not have the pinned digest."""
        if not ref.strip():
            raise PolicyError("a policy attachment needs a ref or an embedded policy")
        cached = self._cache.get(ref)
        if cached is not None:
            return cached
        pin = _PIN.match(ref)
        target, want = (pin.group("ref"), pin.group("hex").lower()) if pin else (ref, None)
        doc, uri = self._read(target, want)
        if want is not None and doc.digest != want:
            raise PolicyError(
                f"policy {target} has digest sha256:{doc.digest}, not the pinned sha256:{want}",
                ref=ref,
            )
        result = (doc, Reference(doc.name, uri, doc.digest))
        self._cache[ref] = result
        return result

    def _read(self, ref: str, want: str | None = None) -> tuple[Policy | PolicyGroup, str | None]:
        if ref.startswith(("https://", "http://")):
            data = self.fetch(ref)
            return parse_document(data, source=ref, load=self._url_scripts(ref)), ref
        if ref.startswith("file://"):
            if not self.local_files:
                raise PolicyError(
                    f"{ref} is a file in the CI job's checkout: only the CLI can read it", ref=ref
                )
            path = Path(ref[len("file://") :])
            if not path.is_absolute() and self.base_dir is not None:
                path = self.base_dir / path
            return self.file(path), f"file://{path}"
        name = ref
        for prefix in _NAMED:
            if name.startswith(prefix):
                name = name[len(prefix) :]
        if "://" in name:
            raise PolicyError(
                f"unsupported policy reference {ref!r}",
                hint="use a built-in name, file://PATH or https://URL",
            )
        stored = self._stored(name, want)
        if stored is not None:
            data, uri = stored
            return parse_stored(data, source=uri), uri
        doc = builtin.load(name)
        return doc, f"chainproof://builtin/{name}"

    def _stored(self, name: str, want: str | None) -> tuple[bytes, str] | None:
        """The organisation's document called ``name``: the pinned revision when there is
        one with digest ``want``, else the latest; None when the organisation has none."""
        if want is not None and self.pinned is not None:
            found = self.pinned(name, want)
            if found is not None:
                return found
        return self.named(name) if self.named is not None else None

    def file(self, path: Path) -> Policy | PolicyGroup:
        """Parse a policy or group file; its scripts are read next to it."""
        try:
            data = path.read_bytes()
        except OSError as err:
            raise PolicyError(
                f"cannot read policy file {path}: {err.strerror or err}", source=str(path)
            ) from None
        return parse_document(data, source=str(path), load=self._file_scripts(path.parent))

    @staticmethod
    def _file_scripts(base: Path) -> Callable[[str], tuple[str, str]]:
        def load(ref: str) -> tuple[str, str]:
            target = Path(ref[len("file://") :] if ref.startswith("file://") else ref)
            if not target.is_absolute():
                target = base / target
            try:
                return str(target), target.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as err:
                raise PolicyError(f"cannot read Rego script {target}: {err}") from None

        return load

    def _url_scripts(self, base: str) -> Callable[[str], tuple[str, str]]:
        def load(ref: str) -> tuple[str, str]:
            url = urljoin(base, ref)
            if not url.startswith(("https://", "http://")):
                raise PolicyError(f"a policy fetched from {base} cannot read {ref}")
            try:
                return url, self.fetch(url).decode("utf-8-sig")
            except UnicodeDecodeError:
                raise PolicyError(f"Rego script {url} is not UTF-8 text") from None

        return load


def refuse_scripts(ref: str) -> tuple[str, str]:
    """The script loader of stored documents: every ``path:``/``ref:`` script is refused,
    because the control plane that evaluates them has nowhere to read it from (its own disk
    is not the author's)."""
    raise PolicyError(
        f"a stored policy cannot read the Rego script {ref!r}: put the script in `embedded:`",
        hint="policies stored in the control plane must embed their Rego",
    )


def parse_stored(data: bytes | str, *, source: str) -> Policy | PolicyGroup:
    """Parse a document meant to be stored in the control plane: it must be self-contained.

    Scripts must be embedded (``path:`` is refused with its line); a group may name policies
    (stored, built-in, ``https://``) or embed them, but not point at ``file://`` ones.
    Raises PolicyError naming ``source`` (and the line, where the parser knows it).
    """
    doc = parse_document(data, source=source, load=refuse_scripts)
    if isinstance(doc, PolicyGroup):
        attachments = [a for m in doc.materials for a in m.policies] + list(doc.attestation)
        for attachment in attachments:
            ref = str(attachment.get("ref") or "")
            if ref.startswith("file://"):
                raise PolicyError(
                    f"{source}: policy group {doc.name!r} refers to {ref}, which a stored "
                    "group cannot read",
                    hint="store that policy too and refer to it by name",
                    source=source,
                )
            embedded = attachment.get("embedded")
            if isinstance(embedded, Mapping):
                Policy.from_dict(embedded, source=f"{source}: embedded policy", load=refuse_scripts)
    return doc
