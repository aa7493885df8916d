"""A material's evaluable content: the JSON object a policy sees as ``input``.

As Chainloop's ``GetEvaluableContent`` (``pkg/attestation/crafter/api/attestation/v1``):

* JSON documents are parsed as they are; a top-level array becomes ``{"elements": [...]}``
  and any other non-object value ``{}``.
* Formats that are not JSON are projected to the JSON Chainloop gives its policies:
  JUNIT_XML to go-junit's suites (``[{name, package, properties, tests: [{name, classname,
  duration, status, error, properties}], totals: {tests, passed, skipped, failed, error,
  duration}}]``, durations in nanoseconds), JACOCO_XML to ``{counters: [{type, missed,
  covered}]}``, COBERTURA_XML to its ``coverage`` element (``line-rate``, ``packages``, ...),
  TRUFFLEHOG_JSON's JSON lines to an array.
* ATTESTATION (a DSSE envelope or Sigstore bundle) is the in-toto statement it carries.
* CONTAINER_IMAGE, STRING and HELM_CHART give ``{}``: policies read them from
  ``input.chainloop_metadata``.
* Every input has ``chainloop_metadata``: the material as an in-toto ResourceDescriptor
  (name, digest, ``content`` for a STRING, annotations with ``chainloop.material.type`` and
  ``chainloop.material.name``, and each ``chainproof.material.*`` annotation also under its
  ``chainloop.material.*`` name), so Chainloop policies that read it work unchanged.

chainproof also projects kinds Chainloop hands over as raw bytes, so policies can read them:
SBOM_CYCLONEDX_XML becomes the CycloneDX JSON of the same BOM (one policy serves both), YAML
OPENAPI_SPEC/ASYNCAPI_SPEC documents their JSON form, ZAP_DAST_ZIP its ``report_json.json``
and GRAPHQL_SPEC ``{"raw": <SDL text>}``. The text reports are projected as Chainloop
projects them: SYSINTERNALS_SIGCHECK to its rows, SYSINTERNALS_ACCESSCHK to ``{tool, objects,
raw}``, CERTCC_DRANZER to ``{tool, objects, findings, summary, raw, reports}`` and
RADAMSA_REPORT to its iterations; RADAMSA_CRASHES gives ``{}`` (policies read its count from
``chainloop_metadata``). Other content that is not JSON cannot be evaluated
(PolicyEvaluationError, as in Chainloop).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainproof.core import jsonload
from chainproof.errors import ChainproofError, PolicyEvaluationError

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from chainproof.core.materials.base import CraftedMaterial

__all__ = ["MAX_CONTENT_BYTES", "evaluable_content", "material_descriptor", "material_input"]

MAX_CONTENT_BYTES = 256 * 1024 * 1024
"""Largest material a policy is evaluated on."""
_OPAQUE = ("CONTAINER_IMAGE", "STRING", "HELM_CHART", "RADAMSA_CRASHES")
_CHAINPROOF_PREFIX = "chainproof.material."
_CHAINLOOP_PREFIX = "chainloop.material."


def material_descriptor(material: CraftedMaterial) -> dict[str, Any]:
    """``input.chainloop_metadata``: the material as an in-toto ResourceDescriptor."""
    annotations: dict[str, Any] = {}
    for key, value in material.annotations.items():
        annotations[key] = value
        if key.startswith(_CHAINPROOF_PREFIX):
            annotations.setdefault(_CHAINLOOP_PREFIX + key[len(_CHAINPROOF_PREFIX) :], value)
    annotations[_CHAINLOOP_PREFIX + "type"] = material.kind
    annotations[_CHAINLOOP_PREFIX + "name"] = material.name
    annotations[_CHAINPROOF_PREFIX + "kind"] = material.kind
    annotations[_CHAINPROOF_PREFIX + "name"] = material.name
    descriptor: dict[str, Any] = {
        "name": material.filename or material.name,
        "digest": {material.digest.algorithm: material.digest.hex},
        "annotations": annotations,
    }
    if material.value is not None:
        descriptor["content"] = base64.b64encode(material.value.encode("utf-8")).decode()
    return descriptor


def material_input(material: CraftedMaterial, path: Path | None = None) -> dict[str, Any]:
    """The evaluable content of a crafted material, read from ``path`` (default: the file
    it was crafted from). PolicyEvaluationError when it cannot be read or projected."""
    data: bytes | None = None
    source = path or material.upload_path
    if material.kind not in _OPAQUE and source is not None:
        try:
            size = Path(source).stat().st_size
            if size > MAX_CONTENT_BYTES:
                raise _error(material.name, f"it is larger than {MAX_CONTENT_BYTES} bytes")
            data = Path(source).read_bytes()
        except OSError as err:
            raise _error(material.name, f"cannot read {source}: {err.strerror or err}") from None
    return evaluable_content(
        material.kind, data, descriptor=material_descriptor(material), name=material.name
    )


def evaluable_content(
    kind: str, data: bytes | None, *, descriptor: Mapping[str, Any], name: str = "material"
) -> dict[str, Any]:
    """The ``input`` object for a material of ``kind`` whose bytes are ``data``."""
    value: Any = {} if kind in _OPAQUE or data is None else _project(kind, data, name)
    if isinstance(value, list):
        out: dict[str, Any] = {"elements": value}
    elif isinstance(value, dict):
        out = dict(value)
    else:
        out = {}
    out["chainloop_metadata"] = dict(descriptor)
    return out


_TEXT_REPORTS = (
    "SYSINTERNALS_SIGCHECK",
    "SYSINTERNALS_ACCESSCHK",
    "CERTCC_DRANZER",
    "RADAMSA_REPORT",
)


def _text_report(kind: str, data: bytes) -> Any:
    """Chainloop's projection of the text reports (see their modules)."""
    if kind == "SYSINTERNALS_SIGCHECK":
        from chainproof.core.materials.sysinternals import sigcheck_projection

        return sigcheck_projection(data)
    if kind == "SYSINTERNALS_ACCESSCHK":
        from chainproof.core.materials.sysinternals import accesschk_projection

        return accesschk_projection(data)
    if kind == "CERTCC_DRANZER":
        from chainproof.core.materials.dranzer import dranzer_projection

        return dranzer_projection(data)
    from chainproof.core.materials.radamsa import report_projection

    return report_projection(data)


def _error(name: str, problem: str) -> PolicyEvaluationError:
    return PolicyEvaluationError(
        f"material {name} cannot be evaluated by policies: {problem}", reason="input"
    )


def _project(kind: str, data: bytes, name: str) -> Any:
    try:
        if kind == "JUNIT_XML":
            return junit_suites(_xml(data))
        if kind == "JACOCO_XML":
            return _jacoco(_xml(data))
        if kind == "COBERTURA_XML":
            return _cobertura(_xml(data))
        if kind == "SBOM_CYCLONEDX_XML":
            return _cyclonedx_xml(data)
        if kind == "TRUFFLEHOG_JSON":
            return [jsonload.loads(line) for line in _text(data).splitlines() if line.strip()]
        if kind == "ZAP_DAST_ZIP":
            return _zap(data, name)
        if kind == "GRAPHQL_SPEC":
            return {"raw": _text(data)}
        if kind in ("OPENAPI_SPEC", "ASYNCAPI_SPEC"):
            return _yaml(data)
        if kind in _TEXT_REPORTS:
            return _text_report(kind, data)
        doc = jsonload.loads(_text(data))
    except ChainproofError as err:
        raise _error(name, err.message) from None
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise _error(name, f"its content is not valid for {kind} ({err})") from None
    if kind == "ATTESTATION":
        from chainproof.core.materials.attestation import decode_statement

        statement = decode_statement(doc) if isinstance(doc, Mapping) else None
        if statement is None and isinstance(doc, Mapping) and "_type" in doc:
            statement = dict(doc)  # a bare statement (policy develop eval)
        if statement is None:
            raise _error(name, "it is not a DSSE envelope or Sigstore bundle of a statement")
        return statement
    return doc


def _text(data: bytes) -> str:
    return data.decode("utf-8-sig")


def _yaml(data: bytes) -> Any:
    # The API spec handlers' reader: JSON, or YAML with aliases counted as expanded (an alias
    # bomb stops there instead of in json.dumps), duplicate keys refused.
    from chainproof.core.materials._structured import parse_json_or_yaml

    return parse_json_or_yaml(_text(data))


def _xml(data: bytes) -> Element:
    import defusedxml.ElementTree as DefusedET

    root: Element = DefusedET.fromstring(data)  # entities and external references refused
    return root


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(elem: Element, name: str) -> list[Element]:
    return [c for c in elem if _local(c.tag) == name]


def _nanoseconds(raw: str | None) -> int:
    """go-junit's duration: seconds (``1.5``) as nanoseconds, rounded to microseconds."""
    try:
        seconds = float((raw or "").replace(",", ""))
    except ValueError:
        return 0
    return int(seconds * 1_000_000) * 1000 if math.isfinite(seconds) else 0


def junit_suites(root: Element) -> list[dict[str, Any]]:
    """go-junit's ``Ingest``: every ``<testsuite>`` found depth-first (not inside another)."""
    suites: list[dict[str, Any]] = []

    def find(elem: Element) -> None:
        for child in elem:
            if _local(child.tag) == "testsuite":
                suites.append(_suite(child))
            else:
                find(child)

    if _local(root.tag) == "testsuite":
        suites.append(_suite(root))
    else:
        find(root)
    return suites


def _suite(elem: Element) -> dict[str, Any]:
    suite: dict[str, Any] = {"name": elem.get("name", ""), "package": elem.get("package", "")}
    tests: list[dict[str, Any]] = []
    for child in elem:
        tag = _local(child.tag)
        if tag == "testcase":
            tests.append(_test(child))
        elif tag == "properties":
            suite["properties"] = {
                p.get("name", ""): p.get("value", "") for p in _children(child, "property")
            }
        elif tag == "system-out" and child.text:
            suite["stdout"] = child.text
        elif tag == "system-err" and child.text:
            suite["stderr"] = child.text
    if tests:
        suite["tests"] = tests
    totals = {"tests": len(tests), "passed": 0, "skipped": 0, "failed": 0, "error": 0}
    for test in tests:
        totals[
            {"passed": "passed", "skipped": "skipped", "failed": "failed"}.get(
                test["status"], "error"
            )
        ] += 1
    suite["totals"] = {**totals, "duration": sum(t["duration"] for t in tests)}
    return suite


def _test(elem: Element) -> dict[str, Any]:
    test: dict[str, Any] = {
        "name": elem.get("name", ""),
        "classname": elem.get("classname", ""),
        "duration": _nanoseconds(elem.get("time")),
        "status": "passed",
        "error": None,
        "properties": dict(elem.attrib),
    }
    for child in elem:
        tag = _local(child.tag)
        if tag == "skipped":
            test["status"] = "skipped"
        elif tag in ("failure", "error"):
            test["status"] = "failed" if tag == "failure" else "error"
            error = {
                "message": child.get("message", ""),
                "type": child.get("type", ""),
                "body": child.text or "",
            }
            test["error"] = {k: v for k, v in error.items() if v}
        elif tag == "system-out" and child.text:
            test["stdout"] = child.text
        elif tag == "system-err" and child.text:
            test["stderr"] = child.text
    return test


def _int(raw: str | None) -> int:
    try:
        return int((raw or "0").strip())
    except ValueError:
        return 0


def _rate(raw: str | None) -> float | None:
    """Cobertura's rates; NaN and infinities are null (as Chainloop's ``Rate``)."""
    try:
        value = float((raw or "0").strip())
    except ValueError:
        return 0.0
    return value if math.isfinite(value) else None


def _jacoco(root: Element) -> dict[str, Any]:
    return {
        "counters": [
            {
                "type": c.get("type", ""),
                "missed": _int(c.get("missed")),
                "covered": _int(c.get("covered")),
            }
            for c in _children(root, "counter")
        ]
    }


def _grand(elem: Element, outer: str, inner: str) -> list[Element]:
    return [e for o in _children(elem, outer) for e in _children(o, inner)]


def _lines(elem: Element) -> list[dict[str, Any]]:
    out = []
    for line in _grand(elem, "lines", "line"):
        item: dict[str, Any] = {
            "number": _int(line.get("number")),
            "hits": _int(line.get("hits")),
            "branch": (line.get("branch") or "").strip().lower() == "true",
        }
        if line.get("condition-coverage"):
            item["condition-coverage"] = line.get("condition-coverage")
        out.append(item)
    return out


def _rates(elem: Element) -> dict[str, Any]:
    return {
        "line-rate": _rate(elem.get("line-rate")),
        "branch-rate": _rate(elem.get("branch-rate")),
        "complexity": _rate(elem.get("complexity")),
    }


def _cobertura(root: Element) -> dict[str, Any]:
    packages = []
    for pkg in _grand(root, "packages", "package"):
        classes = []
        for cls in _grand(pkg, "classes", "class"):
            methods = [
                {
                    "name": m.get("name", ""),
                    "signature": m.get("signature", ""),
                    **_rates(m),
                    "lines": _lines(m),
                }
                for m in _grand(cls, "methods", "method")
            ]
            classes.append(
                {
                    "name": cls.get("name", ""),
                    "filename": cls.get("filename", ""),
                    **_rates(cls),
                    "methods": methods,
                    "lines": _lines(cls),
                }
            )
        packages.append({"name": pkg.get("name", ""), **_rates(pkg), "classes": classes})
    return {
        **_rates(root),
        "lines-covered": _int(root.get("lines-covered")),
        "lines-valid": _int(root.get("lines-valid")),
        "branches-covered": _int(root.get("branches-covered")),
        "branches-valid": _int(root.get("branches-valid")),
        "version": root.get("version", ""),
        "timestamp": _int(root.get("timestamp")),
        "sources": [s.text or "" for s in _grand(root, "sources", "source")],
        "packages": packages,
    }


def _cyclonedx_xml(data: bytes) -> Any:
    """The CycloneDX JSON of an XML BOM (cyclonedx-python-lib), with its own specVersion."""
    import warnings

    from cyclonedx.model.bom import Bom
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion

    root = _xml(data)
    version = root.tag.partition("}")[0].rpartition("/")[2] if "}" in root.tag else ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bom = Bom.from_xml(root)  # type: ignore[attr-defined]  # added by py-serializable
            text = make_outputter(bom, OutputFormat.JSON, SchemaVersion.V1_6).output_as_string()
    except Exception as err:
        raise ValueError(f"cannot read the CycloneDX XML BOM: {err}") from None
    doc = json.loads(text)
    if version:
        doc["specVersion"] = version
    doc.pop("$schema", None)
    return doc


def _zap(data: bytes, name: str) -> Any:
    # NOTE: the ZAP handler's archive checks (entry count, sizes, one report) are reused.
    from chainproof.core.materials import zap_dast_zip

    zf = zap_dast_zip._open_zip(name, data)
    info = zap_dast_zip._find_report(name, zf)
    return zap_dast_zip._parse(name, info.filename, zap_dast_zip._read_member(name, zf, info))
