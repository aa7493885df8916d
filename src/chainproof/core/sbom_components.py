"""The components an SBOM lists (docs/discover.md): purl, name, version, type, licenses and
hashes, from a parsed CycloneDX JSON document (the XML form converts to it) or an SPDX 2.x
JSON document. Pure; malformed entries are skipped, never fatal (the SBOM was validated when
it was added, and a partial index is better than none)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_NO_LICENSE = ("NOASSERTION", "NONE", "")


@dataclass(frozen=True)
class SbomComponent:
    """One component; ``package`` is its purl without version, qualifiers and subpath."""

    name: str
    version: str | None = None
    type: str | None = None
    purl: str | None = None
    package: str | None = None
    licenses: tuple[str, ...] = ()
    hashes: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Unique within one SBOM: the purl, else type, name and version."""
        return self.purl or f"{self.type or ''}:{self.name}@{self.version or ''}"


def package_of(purl: str) -> tuple[str | None, str | None]:
    """``(package, version)`` of a purl (``pkg:maven/g/a@1?x=y`` → ``pkg:maven/g/a``, ``1``);
    ``(None, None)`` when it is not a purl packageurl-python can read."""
    from packageurl import PackageURL

    try:
        parsed = PackageURL.from_string(purl)
    except ValueError:
        return None, None
    bare = PackageURL(type=parsed.type, namespace=parsed.namespace, name=parsed.name)
    return bare.to_string(), parsed.version


def components(kind: str, doc: Any) -> list[SbomComponent]:
    """The components of a parsed SBOM of evidence ``kind`` (empty for any other kind),
    one per key (a repeated entry keeps its first form)."""
    if not isinstance(doc, Mapping):
        return []
    found = _spdx(doc) if kind == "SBOM_SPDX_JSON" else _cyclonedx(doc)
    unique: dict[str, SbomComponent] = {}
    for comp in found:
        unique.setdefault(comp.key, comp)
    return list(unique.values())


def _text(value: Any) -> str | None:
    return str(value).strip() or None if isinstance(value, str | int | float) else None


def _make(
    name: Any, version: Any, type_: Any, purl: Any, licenses: list[str], hashes: list[str]
) -> SbomComponent | None:
    name_text = _text(name)
    if name_text is None:
        return None
    purl_text = _text(purl)
    package = package_of(purl_text)[0] if purl_text else None
    return SbomComponent(
        name=name_text,
        version=_text(version),
        type=_text(type_),
        purl=purl_text,
        package=package,
        licenses=tuple(dict.fromkeys(lic for lic in licenses if lic not in _NO_LICENSE)),
        hashes=tuple(dict.fromkeys(hashes)),
    )


def _cyclonedx(doc: Mapping[str, Any]) -> Iterator[SbomComponent]:
    stack: list[Any] = [doc.get("components")]
    while stack:
        items = stack.pop()
        if not isinstance(items, list):
            continue
        for item in items:
            if not isinstance(item, Mapping):
                continue
            stack.append(item.get("components"))
            comp = _make(
                item.get("name"),
                item.get("version"),
                item.get("type"),
                item.get("purl"),
                _cdx_licenses(item.get("licenses")),
                _cdx_hashes(item.get("hashes")),
            )
            if comp is not None:
                yield comp


def _cdx_licenses(entries: Any) -> list[str]:
    out: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping):
            continue
        lic = entry.get("license")
        if isinstance(lic, Mapping):
            text = _text(lic.get("id")) or _text(lic.get("name"))
        else:
            text = _text(entry.get("expression"))
        if text:
            out.append(text)
    return out


def _cdx_hashes(entries: Any) -> list[str]:
    out: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping) and _text(entry.get("alg")) and _text(entry.get("content")):
            alg = str(entry["alg"]).lower().replace("-", "")
            out.append(f"{alg}:{str(entry['content']).lower()}")
    return out


def _spdx(doc: Mapping[str, Any]) -> Iterator[SbomComponent]:
    packages = doc.get("packages")
    for pkg in packages if isinstance(packages, list) else []:
        if not isinstance(pkg, Mapping):
            continue
        purl = None
        for ref in pkg.get("externalRefs") or []:
            if isinstance(ref, Mapping) and ref.get("referenceType") == "purl":
                purl = ref.get("referenceLocator")
                break
        licenses = [
            str(pkg[field])
            for field in ("licenseConcluded", "licenseDeclared")
            if isinstance(pkg.get(field), str)
        ]
        hashes = [
            f"{str(c['algorithm']).lower().replace('-', '')}:{str(c['checksumValue']).lower()}"
            for c in pkg.get("checksums") or []
            if isinstance(c, Mapping) and c.get("algorithm") and c.get("checksumValue")
        ]
        purpose = pkg.get("primaryPackagePurpose")
        comp = _make(
            pkg.get("name"),
            pkg.get("versionInfo"),
            purpose.lower() if isinstance(purpose, str) else None,
            purl,
            licenses,
            hashes,
        )
        if comp is not None:
            yield comp
