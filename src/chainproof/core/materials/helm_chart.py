"""HELM_CHART: a packaged Helm chart, the ``<name>-<version>.tgz`` that ``helm package`` writes.

Helm has no Python library, so the checks are written here after Helm's own loader
(helm.sh/helm ``pkg/chart/loader`` and ``Metadata.Validate``): a gzip-compressed tar whose
entries all sit under one chart directory, holding ``<chart>/Chart.yaml`` and (as Chainloop
requires) ``<chart>/values.yaml``. ``Chart.yaml`` must be a mapping with ``apiVersion`` ``v1``
or ``v2``, a ``name`` that is not a path, and a ``version`` that is SemVer 2 (as Helm documents
it; Helm's loader also takes shorthands such as ``1.2`` or ``v1.2.3``, which are refused here);
``appVersion``, when given, must be a string (``helm lint`` says the same); ``type`` is
``application`` or ``library``; dependencies need a name, and no two may share a name or alias.
``values.yaml`` must be a mapping (an empty file is an empty mapping, as in Helm). Subcharts
(``<chart>/charts/...``) are not checked.

The archive is read from memory with tarfile, never extracted. Against bombs it stops at
:data:`MAX_ENTRIES` entries, at :data:`MAX_UNPACKED_BYTES` declared in the entries' headers
(checked before their data is decompressed) and at :data:`MAX_FILE_BYTES` for one YAML file:
Helm's own defaults for a chart and for one file. Links and other special entries are skipped
as Helm skips them, unless they stand where ``Chart.yaml`` or ``values.yaml`` should be.
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
import zlib
from pathlib import PurePosixPath
from typing import Any, ClassVar

from chainproof.core.digest import Digest
from chainproof.core.materials._common import ANNOTATION_PREFIX, existing_file, read_head, shorten
from chainproof.core.materials._report import crafted, type_name
from chainproof.core.materials._structured import DocumentError, parse_yaml
from chainproof.core.materials.archive import MAX_ENTRIES
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

NAME = ANNOTATION_PREFIX + "helm.name"
VERSION = ANNOTATION_PREFIX + "helm.version"
APP_VERSION = ANNOTATION_PREFIX + "helm.app_version"

MAX_ARCHIVE_BYTES = 100 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024  # Helm's MaxDecompressedChartSize
MAX_FILE_BYTES = 5 * 1024 * 1024  # Helm's MaxDecompressedFileSize
MAX_YAML_NODES = 200_000
API_VERSIONS = ("v1", "v2")
CHART_TYPES = ("application", "library")

_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_UNPACKED = 256 * 1024
_SNIFF_MEMBERS = 16
_WANTED = ("Chart.yaml", "values.yaml", "requirements.yaml")
# https://semver.org/#is-there-a-suggested-regular-expression-regex-to-check-a-semver-string
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)


def _is_chart_file(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and bool(parts[0]) and parts[1] == "Chart.yaml"


def _read_archive(filename: str, data: bytes) -> tuple[str, dict[str, bytes]]:
    """The chart directory and the bytes of its Chart.yaml, values.yaml and requirements.yaml.

    MaterialError for an archive that is not a gzip tar, is truncated, breaks a limit, has an
    unsafe entry name or lacks Chart.yaml or values.yaml.
    """
    if not data.startswith(_GZIP_MAGIC):
        raise MaterialError(
            f"{filename} is not a Helm chart: not a gzip-compressed tar archive",
            hint="package the chart directory with helm package",
        )
    found: dict[str, bytes] = {}
    chart_dirs: set[str] = set()
    unpacked = 0
    stream = _Capped(filename, gzip.GzipFile(fileobj=io.BytesIO(data)))
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for count, member in enumerate(archive, start=1):
                if count > MAX_ENTRIES:
                    raise MaterialError(f"{filename} has more than {MAX_ENTRIES} entries")
                name = member.name
                path = PurePosixPath(name)
                if path.is_absolute() or ".." in path.parts:
                    raise MaterialError(f"{filename} is not a safe Helm chart: entry {name!r}")
                unpacked += max(member.size, 0)
                if unpacked > MAX_UNPACKED_BYTES:
                    raise MaterialError(
                        f"{filename} unpacks to more than {MAX_UNPACKED_BYTES} bytes "
                        "(Helm's limit for a chart)"
                    )
                parts = name.split("/")
                if name == "Chart.yaml":
                    raise MaterialError(
                        f"{filename}: Chart.yaml is not in a chart directory (Helm expects "
                        "<chart>/Chart.yaml)",
                        hint="package the chart directory with helm package",
                    )
                if len(parts) != 2 or parts[1] not in _WANTED:
                    continue
                if not member.isfile():
                    raise MaterialError(f"{filename}: {name} is not a regular file")
                if parts[1] == "Chart.yaml":
                    chart_dirs.add(parts[0])
                if member.size > MAX_FILE_BYTES:
                    raise MaterialError(
                        f"{filename}: {name} is larger than {MAX_FILE_BYTES} bytes "
                        "(Helm's limit for one file)"
                    )
                content = archive.extractfile(member)
                if content is None:  # pragma: no cover - isfile() members always have data
                    continue
                if name in found:
                    raise MaterialError(f"{filename}: {name} appears twice in the archive")
                found[name] = content.read(MAX_FILE_BYTES + 1)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise MaterialError(
            f"{filename} is not a readable Helm chart archive: {shorten(str(exc), 120)}",
            hint="the file may be truncated; package the chart again with helm package",
        ) from None
    if not chart_dirs:
        raise MaterialError(
            f"{filename} is not a Helm chart: it has no <chart>/Chart.yaml",
            hint="package the chart directory with helm package",
        )
    if len(chart_dirs) > 1:
        dirs = ", ".join(sorted(chart_dirs))
        raise MaterialError(f"{filename} holds more than one chart directory ({dirs})")
    chart_dir = chart_dirs.pop()
    if f"{chart_dir}/values.yaml" not in found:
        raise MaterialError(
            f"{filename} is not a complete Helm chart: {chart_dir}/values.yaml is missing",
            hint="add a values.yaml (it may be empty) to the chart and package it again",
        )
    files = {}
    for key, value in found.items():
        top, _, rest = key.partition("/")
        if top == chart_dir:
            files[rest] = value
    return chart_dir, files


class _Capped(io.RawIOBase):
    """The decompressed stream, cut off past :data:`MAX_UNPACKED_BYTES` (plus room for the tar
    headers). The entries' declared sizes are checked first; this also bounds what tarfile
    reads on its own, such as PAX extended headers, which it loads whole into memory."""

    def __init__(self, filename: str, raw: gzip.GzipFile) -> None:
        super().__init__()
        self.filename = filename
        self.raw = raw
        self.limit = MAX_UNPACKED_BYTES + 512 * (MAX_ENTRIES + 2) * 2
        self.total = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size if size >= 0 else self.limit + 1 - self.total)
        self.total += len(data)
        if self.total > self.limit:
            raise MaterialError(
                f"{self.filename} unpacks to more than {MAX_UNPACKED_BYTES} bytes "
                "(Helm's limit for a chart)"
            )
        return data


def _load(filename: str, member: str, data: bytes) -> Any:
    """The YAML data of one chart file; MaterialError naming the archive, file and line."""
    try:
        return parse_yaml(data.decode("utf-8-sig"), max_nodes=MAX_YAML_NODES)
    except UnicodeDecodeError as exc:
        raise MaterialError(f"{filename}: {member} is not UTF-8 text (byte {exc.start})") from None
    except DocumentError as exc:
        raise MaterialError(f"{filename}: {member} is not valid: {exc}") from None


def _text(chart: dict[str, Any], key: str) -> str | None:
    value = chart.get(key)
    return value if isinstance(value, str) and value else None


def _check_chart(filename: str, where: str, chart: Any) -> dict[str, Any]:
    """Helm's ``Metadata.Validate`` (plus string types); MaterialError naming the field."""

    def fail(problem: str, hint: str | None = None) -> MaterialError:
        return MaterialError(f"{filename}: {where}: {problem}", hint=hint)

    if not isinstance(chart, dict):
        raise fail(f"the top level is {type_name(chart)}, not a mapping")
    for key in ("apiVersion", "name", "version", "appVersion", "type", "kubeVersion"):
        if key in chart and chart[key] is not None and not isinstance(chart[key], str):
            raise fail(
                f"{key} is {type_name(chart[key])} ({chart[key]!r}), not a string",
                hint=f'quote it: {key}: "{chart[key]}"',
            )
    for key in ("apiVersion", "name", "version"):
        if not _text(chart, key):
            raise fail(f"{key} is required")
    if chart["apiVersion"] not in API_VERSIONS:
        raise fail(f"apiVersion {shorten(chart['apiVersion'], 40)!r} is not v1 or v2")
    name = chart["name"]
    if "/" in name or "\\" in name or name in (".", ".."):
        raise fail(f"name {shorten(name, 60)!r} is not a chart name")
    if not _SEMVER.fullmatch(chart["version"]):
        raise fail(
            f"version {shorten(chart['version'], 40)!r} is not a SemVer 2 version",
            hint="use MAJOR.MINOR.PATCH, e.g. 1.4.0 or 1.4.0-rc.1",
        )
    if _text(chart, "type") and chart["type"] not in CHART_TYPES:
        raise fail(f"type {shorten(chart['type'], 40)!r} is not application or library")
    return chart


def _dependencies(filename: str, where: str, raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise MaterialError(f"{filename}: {where}: dependencies is {type_name(raw)}, not a list")
    seen: set[str] = set()
    for index, dependency in enumerate(raw):
        if not isinstance(dependency, dict) or not _text(dependency, "name"):
            raise MaterialError(f"{filename}: {where}: dependencies[{index}] has no name")
        key = _text(dependency, "alias") or dependency["name"]
        if key in seen:
            raise MaterialError(
                f"{filename}: {where}: more than one dependency with name or alias {key!r}"
            )
        seen.add(key)
    return raw


class HelmChartHandler:
    """Validates a packaged Helm chart (.tgz) and summarises its Chart.yaml."""

    kind: ClassVar[str] = "HELM_CHART"

    def accepts(self, value: str) -> bool:
        """A gzip file whose first tar entries include ``<chart>/Chart.yaml`` (only the head
        of the file is decompressed)."""
        got = read_head(value)
        if got is None or not got[0].startswith(_GZIP_MAGIC):
            return False
        try:
            unpacked = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(got[0], _SNIFF_UNPACKED)
        except zlib.error:
            return False
        names: list[str] = []
        try:
            with tarfile.open(fileobj=io.BytesIO(unpacked), mode="r:") as archive:
                for member in archive:
                    names.append(member.name)
                    if len(names) >= _SNIFF_MEMBERS:
                        break
        except (tarfile.TarError, EOFError, OSError, ValueError):
            pass  # the head ends inside an entry: judge by the names seen so far
        return any(_is_chart_file(name) for name in names)

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, a file that is not a gzip tar, a
        truncated or unsafe archive, a missing Chart.yaml or values.yaml, YAML that does not
        parse, or Chart.yaml fields that Helm would refuse."""
        path = existing_file(self.kind, value)
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_ARCHIVE_BYTES + 1)
        except OSError as exc:
            raise MaterialError(f"{self.kind}: cannot read {path}: {exc.strerror or exc}") from exc
        if len(data) > MAX_ARCHIVE_BYTES:
            raise MaterialError(f"{path.name} is larger than {MAX_ARCHIVE_BYTES} bytes")
        chart_dir, files = _read_archive(path.name, data)
        where = f"{chart_dir}/Chart.yaml"
        chart = _check_chart(path.name, where, _load(path.name, where, files["Chart.yaml"]))
        values = _load(path.name, f"{chart_dir}/values.yaml", files["values.yaml"])
        if values is not None and not isinstance(values, dict):
            raise MaterialError(
                f"{path.name}: {chart_dir}/values.yaml: the top level is {type_name(values)}, "
                "not a mapping"
            )
        dependencies = list(_dependencies(path.name, where, chart.get("dependencies")))
        if chart["apiVersion"] == "v1" and "requirements.yaml" in files:  # Helm 2 charts
            where_req = f"{chart_dir}/requirements.yaml"
            requirements = _load(path.name, where_req, files["requirements.yaml"]) or {}
            if not isinstance(requirements, dict):
                raise MaterialError(f"{path.name}: {where_req}: the top level is not a mapping")
            dependencies += _dependencies(path.name, where_req, requirements.get("dependencies"))
        summary = {
            "name": chart["name"],
            "version": chart["version"],
            "app_version": _text(chart, "appVersion"),
            "api_version": chart["apiVersion"],
            "type": _text(chart, "type") or "application",
            "dependency_count": len(dependencies),
            "dependencies": sorted(str(d["name"]) for d in dependencies),
        }
        annotations = {NAME: chart["name"], VERSION: chart["version"]}
        if summary["app_version"]:
            annotations[APP_VERSION] = summary["app_version"]
        return crafted(
            self.kind, name, path, Digest.of_bytes(data), len(data), summary, annotations
        )
