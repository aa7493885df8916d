"""API spec and chart evidence kinds (OPENAPI_SPEC, ASYNCAPI_SPEC, GRAPHQL_SPEC, HELM_CHART)
against sample files in tests/assets/materials/specs.

inventory-openapi-3.1.json was produced by FastAPI (``app.openapi()``); the other specs are
written after the specifications' own examples (OpenAPI petstore, AsyncAPI streetlights). Helm
is not installable here, so the charts under specs/helm are packed by :func:`helm_package`
the way ``helm package`` writes them (entry order, modes, gzip header).
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest
from tests.unit.core.materials_kit import craft, error

from chainproof.core.materials import _structured, helm_chart
from chainproof.core.materials._structured import DocumentError, parse_json_or_yaml, parse_yaml
from chainproof.core.materials.asyncapi_spec import AsyncApiSpecHandler
from chainproof.core.materials.base import MaterialHandler
from chainproof.core.materials.graphql_spec import GraphqlSpecHandler
from chainproof.core.materials.helm_chart import HelmChartHandler
from chainproof.core.materials.openapi_spec import OpenApiSpecHandler
from chainproof.errors import MaterialError

ASSETS = Path(__file__).parents[2] / "assets" / "materials"
SPECS = ASSETS / "specs"
HELM = SPECS / "helm"
OPENAPI = OpenApiSpecHandler()
ASYNCAPI = AsyncApiSpecHandler()
GRAPHQL = GraphqlSpecHandler()
CHART = HelmChartHandler()
HANDLERS: tuple[MaterialHandler, ...] = (OPENAPI, ASYNCAPI, GRAPHQL, CHART)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- Helm packaging, as helm.sh/helm pkg/chartutil/save.go does it ---------------------------

HELM_GZIP_EXTRA = b"+aHR0cHM6Ly95b3V0dS5iZS96OVV6MWljandyTQo="
_TOP_FILES = (
    "Chart.yaml",
    "Chart.lock",
    "requirements.yaml",
    "requirements.lock",
    "values.yaml",
    "values.schema.json",
)


def gzip_like_helm(data: bytes) -> bytes:
    """gzip as Go's compress/gzip writes it for helm: FEXTRA and FCOMMENT "Helm", OS 255."""
    header = b"\x1f\x8b\x08" + bytes([0x04 | 0x10]) + bytes(4) + b"\x00\xff"
    header += len(HELM_GZIP_EXTRA).to_bytes(2, "little") + HELM_GZIP_EXTRA + b"Helm\x00"
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = deflate.compress(data) + deflate.flush()
    trailer = zlib.crc32(data).to_bytes(4, "little") + (len(data) % 2**32).to_bytes(4, "little")
    return header + body + trailer


def tar_bytes(entries: list[tuple[str, bytes]], fmt: int = tarfile.USTAR_FORMAT) -> bytes:
    """A tar of regular files as Go's archive/tar writes helm's headers (mode 0644, no dirs)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as archive:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def helm_entries(chart_dir: Path, prefix: str = "") -> list[tuple[str, bytes]]:
    """Chart.yaml, requirements/values files, templates, other files, then each subchart."""
    base = f"{prefix}{chart_dir.name}"
    entries = [
        (f"{base}/{n}", (chart_dir / n).read_bytes())
        for n in _TOP_FILES
        if (chart_dir / n).is_file()
    ]
    rest = sorted(
        p.relative_to(chart_dir).as_posix()
        for p in chart_dir.rglob("*")
        if p.is_file()
        and p.relative_to(chart_dir).parts[0] != "charts"
        and p.relative_to(chart_dir).as_posix() not in _TOP_FILES
    )
    rest.sort(key=lambda name: not name.startswith("templates/"))
    entries += [(f"{base}/{name}", (chart_dir / name).read_bytes()) for name in rest]
    charts = chart_dir / "charts"
    for sub in sorted(charts.iterdir()) if charts.is_dir() else []:
        entries += helm_entries(sub, f"{base}/charts/")
    return entries


def helm_package(
    chart_dir: Path,
    out: Path,
    filename: str,
    replace: dict[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
) -> Path:
    """``helm package chart_dir`` into ``out/filename``, with some files swapped or left out."""
    entries = []
    for name, data in helm_entries(chart_dir):
        relative = name.split("/", 1)[1]
        if relative in drop:
            continue
        entries.append((name, (replace or {}).get(relative, data)))
    return write(out, filename, gzip_like_helm(tar_bytes(entries)))


@pytest.fixture
def web_chart(tmp_path: Path) -> Path:
    return helm_package(HELM / "web", tmp_path, "web-0.3.1.tgz")


def tgz(tmp_path: Path, entries: list[tuple[str, bytes]], name: str = "chart.tgz") -> Path:
    return write(tmp_path, name, gzip_like_helm(tar_bytes(entries)))


CHART_YAML = (HELM / "web" / "Chart.yaml").read_bytes()
VALUES_YAML = (HELM / "web" / "values.yaml").read_bytes()


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("petstore-openapi-3.0.yaml", "OPENAPI_SPEC"),
        ("petstore-swagger-2.0.json", "OPENAPI_SPEC"),
        ("inventory-openapi-3.1.json", "OPENAPI_SPEC"),
        ("openapi-truncated.json", "OPENAPI_SPEC"),  # craft says what is wrong
        ("openapi-unquoted-version.yaml", "OPENAPI_SPEC"),
        ("streetlights-asyncapi-2.6.yaml", "ASYNCAPI_SPEC"),
        ("user-signup-asyncapi-3.0.json", "ASYNCAPI_SPEC"),
        ("asyncapi-truncated.json", "ASYNCAPI_SPEC"),
        ("bookstore.graphql", "GRAPHQL_SPEC"),
        ("catalog.sdl", "GRAPHQL_SPEC"),  # by its SDL keywords
        ("graphql-query.graphql", "GRAPHQL_SPEC"),  # by extension: craft refuses it
    ],
)
def test_each_sample_is_accepted_by_its_kind_only(name: str, kind: str) -> None:
    assert [h.kind for h in HANDLERS if h.accepts(str(SPECS / name))] == [kind]


def test_a_packaged_chart_is_accepted_as_helm_chart_only(web_chart: Path) -> None:
    assert [h.kind for h in HANDLERS if h.accepts(str(web_chart))] == ["HELM_CHART"]


@pytest.mark.parametrize(
    "value",
    [
        str(ASSETS / "cyclonedx-1.6.json"),
        str(ASSETS / "spdx-2.3.json"),
        str(ASSETS / "evidence.json"),
        str(ASSETS / "not-json.csv"),
        str(ASSETS / "empty.json"),
        str(ASSETS / "artifact.sh"),
        str(ASSETS / "reports" / "sarif-ruff.sarif"),
        str(ASSETS / "reports" / "junit-pytest.xml"),
        str(HELM / "web" / "Chart.yaml"),
        str(HELM / "web" / "templates" / "deployment.yaml"),
        str(HELM / "web" / "templates" / "_helpers.tpl"),
        str(Path(__file__)),
        str(SPECS / "missing.yaml"),
        str(SPECS),
        "",
        "sha256:abc",
    ],
)
def test_other_values_are_not_accepted(value: str) -> None:
    assert [h.kind for h in HANDLERS if h.accepts(value)] == []


@pytest.mark.parametrize(
    "text",
    [
        "package store\n\n// Item is sold.\ntype Item struct {\n\tSKU string\n}\n",  # Go
        "import { x } from './x';\n\ntype Item = {\n  sku: string;\n};\n",  # TypeScript
        "type: object\nproperties:\n  type Item {: 1\n",  # YAML
        "# Notes\n\nThe schema has `type Query {` at its root.\n",  # Markdown
        '{"type Query {": "json"}',
        "info:\n  openapi: 3.0.0\n  asyncapi: 2.6.0\n",  # nested keys are not top-level ones
    ],
)
def test_look_alike_text_is_not_accepted(tmp_path: Path, text: str) -> None:
    assert [h.kind for h in HANDLERS if h.accepts(str(write(tmp_path, "x.txt", text)))] == []


def test_sdl_detected_after_comments_and_descriptions(tmp_path: Path) -> None:
    text = '# generated\n"""\nThe API.\n"""\nschema { query: Q }\n"Root"\ntype Q { a: Int }\n'
    assert GRAPHQL.accepts(str(write(tmp_path, "api.txt", text)))
    assert GRAPHQL.accepts(str(write(tmp_path, "any.GQL", "not sdl at all")))  # extension


def test_large_specs_detected_by_their_head(tmp_path: Path) -> None:
    doc = json.loads((SPECS / "inventory-openapi-3.1.json").read_text())
    doc["info"]["x-padding"] = "x" * 70_000
    big = write(tmp_path, "big.json", json.dumps(doc))
    assert OPENAPI.accepts(str(big))
    assert OPENAPI.craft("api", str(big)).summary["operation_count"] == 6
    yaml_text = (SPECS / "streetlights-asyncapi-2.6.yaml").read_text()
    big_yaml = write(tmp_path, "big.yaml", yaml_text + "x-padding: " + "y" * 70_000 + "\n")
    assert ASYNCAPI.accepts(str(big_yaml))
    assert not OPENAPI.accepts(str(big_yaml))


def test_helm_detection_needs_a_chart_directory_in_a_gzip_tar(tmp_path: Path) -> None:
    sbom = (ASSETS / "cyclonedx-1.6.json").read_bytes()
    sboms = tgz(tmp_path, [("sboms/app.cdx.json", sbom)], "sboms.tgz")
    subchart_only = tgz(tmp_path, [("web/charts/redis/Chart.yaml", CHART_YAML)], "sub.tgz")
    at_root = tgz(tmp_path, [("Chart.yaml", CHART_YAML)], "root.tgz")
    plain_tar = write(tmp_path, "web.tar", tar_bytes([("web/Chart.yaml", CHART_YAML)]))
    zipped = tmp_path / "web.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("web/Chart.yaml", CHART_YAML)
    not_gzip = write(tmp_path, "x.tgz", b"\x1f\x8bnot really gzip")
    for path in (sboms, subchart_only, at_root, plain_tar, zipped, not_gzip):
        assert not CHART.accepts(str(path)), path.name
    python_gzip = write(tmp_path, "py.tgz", gzip.compress(tar_bytes([("c/Chart.yaml", b"x")])))
    assert CHART.accepts(str(python_gzip))


def test_helm_detection_reads_the_first_members_only(tmp_path: Path) -> None:
    noise = [(f"web/files/{i}.bin", bytes(4096)) for i in range(20)]
    late = tgz(tmp_path, [*noise, ("web/Chart.yaml", CHART_YAML)], "late.tgz")
    assert not CHART.accepts(str(late))  # craft still reads the whole archive
    assert "values.yaml is missing" in error(CHART, late).message


# --- the YAML/JSON reader --------------------------------------------------------------------


def test_yaml_is_read_as_json_data() -> None:
    text = (
        "responses:\n  200: {description: ok}\n  default: &e {description: error}\n"
        "released: 2024-05-01\nbinary: !!binary aGVsbG8=\nflag: yes\nempty:\nother: *e\n"
        "base: &b {x: 1, y: 2}\nmerged:\n  <<: *b\n  y: 3\n"
    )
    assert parse_yaml(text) == {
        "responses": {"200": {"description": "ok"}, "default": {"description": "error"}},
        "released": "2024-05-01",
        "binary": "aGVsbG8=",
        "flag": True,
        "empty": None,
        "other": {"description": "error"},
        "base": {"x": 1, "y": 2},
        "merged": {"y": 3, "x": 1},
    }
    assert parse_yaml("# only a comment\n") is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("a: 1\nb:\n  c: 2\n  c: 3\n", "duplicate key 'c' at line 4"),
        ("a: [1\n", "not YAML at line 2 column 1: did not find expected ',' or ']'"),
        ("a: 1\n---\nb: 2\n", "expected a single document in the stream but found another"),
        ("a: !Ref other\n", "unsupported tag !Ref at line 1"),
        ("a: !!set {x}\n", "unsupported tag tag:yaml.org,2002:set at line 1"),
        ("a: &x [1, *x]\n", "recursive alias at line 1"),
        ("a:\n  <<: [1]\n", "a merge key (<<) takes mappings only (line 2)"),
        ("? [1]\n: 2\n", "mapping keys must be plain text (line 1)"),
        ("a: " + "[" * 250 + "]" * 250 + "\n", "nested deeper than 200 levels"),
    ],
)
def test_yaml_that_is_refused(text: str, why: str) -> None:
    with pytest.raises(DocumentError) as info:
        parse_yaml(text)
    assert why in str(info.value)


def test_yaml_aliases_count_as_expanded() -> None:
    rows = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    rows += [
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]" for p, n in zip("abcdef", "bcdefg", strict=True)
    ]
    with pytest.raises(DocumentError, match="more than 100000 values once its aliases"):
        parse_yaml("\n".join(rows), max_nodes=100_000)
    assert len(parse_yaml("\n".join(rows[:3]), max_nodes=100_000)["c"]) == 10


def test_json_first_then_yaml_flow() -> None:
    assert parse_json_or_yaml('{"a": [1, 2]}') == {"a": [1, 2]}
    assert parse_json_or_yaml("{a: 1, b: [x]}") == {"a": 1, "b": ["x"]}  # YAML flow mapping
    with pytest.raises(DocumentError, match=r"not JSON at line 1 column 11: Expecting value"):
        parse_json_or_yaml('{"a": [1, ')
    with pytest.raises(DocumentError, match="nested too deeply"):
        parse_json_or_yaml("[" * 100_000 + "]" * 100_000)


def test_read_text_limits_and_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, "big.yaml", "a: " + "x" * 200)
    with pytest.raises(
        MaterialError, match=r"big\.yaml is larger than 100 bytes, the limit for OPENAPI_SPEC"
    ):
        _structured.read_text("OPENAPI_SPEC", str(path), max_bytes=100)
    latin = write(tmp_path, "latin.yaml", "title: caf\xe9\n".encode("latin-1"))
    assert "latin.yaml is not UTF-8 text (byte 10)" in error(OPENAPI, latin).message
    bom = write(tmp_path, "bom.graphql", "\ufefftype Query { a: Int }\n")
    assert craft(GRAPHQL, bom).summary["type_count"] == 1


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.kind)
def test_missing_directory_and_empty(handler: MaterialHandler, tmp_path: Path) -> None:
    assert "does not exist" in error(handler, tmp_path / "nope.yaml").message
    assert "is a directory" in error(handler, tmp_path).message
    assert "is empty" in error(handler, write(tmp_path, "empty.yaml", "")).message


# --- OPENAPI_SPEC ----------------------------------------------------------------------------


def test_openapi_3_0_yaml_with_anchors_and_numeric_status_codes() -> None:
    material = craft(OPENAPI, SPECS / "petstore-openapi-3.0.yaml")
    assert material.summary == {
        "spec_version": "3.0.3",
        "title": "Swagger Petstore",
        "version": "1.0.0",
        "path_count": 2,
        "operation_count": 4,
        "operations_by_method": {"delete": 1, "get": 2, "post": 1},
        "webhook_count": 0,
    }
    assert material.annotations == {
        "chainproof.material.api.spec_version": "3.0.3",
        "chainproof.material.api.name": "Swagger Petstore",
        "chainproof.material.api.version": "1.0.0",
    }


def test_openapi_3_1_from_fastapi() -> None:
    material = craft(OPENAPI, SPECS / "inventory-openapi-3.1.json")
    assert material.summary == {
        "spec_version": "3.1.0",
        "title": "Inventory Service",
        "version": "2.4.1",
        "path_count": 3,
        "operation_count": 6,
        "operations_by_method": {"delete": 1, "get": 3, "patch": 1, "post": 1},
        "webhook_count": 0,
    }


def test_swagger_2_0() -> None:
    material = craft(OPENAPI, SPECS / "petstore-swagger-2.0.json")
    assert material.summary == {
        "spec_version": "2.0",
        "title": "Swagger Petstore",
        "version": "1.0.0",
        "path_count": 2,
        "operation_count": 3,
        "operations_by_method": {"get": 2, "post": 1},
        "webhook_count": 0,
    }
    assert material.annotations["chainproof.material.api.spec_version"] == "2.0"


def test_openapi_3_1_webhooks_only(tmp_path: Path) -> None:
    text = (
        'openapi: "3.1.0"\ninfo: {title: Hooks, version: "7"}\nwebhooks:\n'
        "  newPet:\n    post:\n      responses:\n        '200': {description: ok}\n"
    )
    summary = craft(OPENAPI, write(tmp_path, "hooks.yaml", text)).summary
    assert (summary["path_count"], summary["operation_count"], summary["webhook_count"]) == (
        0,
        0,
        1,
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "openapi-missing-info-version.yaml",
            "openapi-missing-info-version.yaml is not a valid OpenAPI 3.0.3 document: "
            "info: 'version' is a required property",
        ),
        (
            "openapi-duplicate-operation-id.yaml",
            "openapi-duplicate-operation-id.yaml is not a valid OpenAPI 3.0.3 document: "
            "Operation ID 'findPets' for 'get' in '/pets/{id}' is not unique",
        ),
        (
            "openapi-dangling-ref.yaml",
            "openapi-dangling-ref.yaml is not a valid OpenAPI 3.0.3 document: "
            "$ref '#/components/schemas/Problem' points to nothing in the document",
        ),
        (
            "openapi-external-ref.yaml",
            "openapi-external-ref.yaml: $ref 'schemas/new-pet.yaml' cannot be resolved: "
            "references to other files or URLs are not followed",
        ),
        (
            "openapi-unquoted-version.yaml",
            "openapi-unquoted-version.yaml is not a valid OpenAPI document: 'openapi' is a "
            'number (3.0), not a version string such as "3.0.3"',
        ),
        (
            "openapi-unsupported-version.yaml",
            "openapi-unsupported-version.yaml: OpenAPI version '3.9.0' is not supported "
            "(Swagger 2.0 and OpenAPI 3.0, 3.1 and 3.2; the version has three numbers, "
            "e.g. 3.1.0)",
        ),
        (
            "openapi-duplicate-key.yaml",
            "openapi-duplicate-key.yaml is not a valid OpenAPI document: duplicate key "
            "'operationId' at line 55",
        ),
        (
            "openapi-truncated.json",
            "openapi-truncated.json is not a valid OpenAPI document: not JSON at line 122 "
            "column 13: Unterminated string starting at",
        ),
        (
            "openapi-alias-bomb.yaml",
            "openapi-alias-bomb.yaml is not a valid OpenAPI document: the document has more "
            "than 2000000 values once its aliases are expanded",
        ),
    ],
)
def test_openapi_invalid_samples(name: str, message: str) -> None:
    assert error(OPENAPI, SPECS / name).message == message


def test_openapi_hints() -> None:
    assert "bundle the spec" in str(error(OPENAPI, SPECS / "openapi-external-ref.yaml").hint)
    assert 'openapi: "3.1.0"' in str(error(OPENAPI, SPECS / "openapi-unquoted-version.yaml").hint)


@pytest.mark.parametrize(
    "ref", ["http://127.0.0.1:9/pet.yaml#/Pet", "file:///etc/hostname", "ftp://h/x.json"]
)
def test_openapi_never_fetches_references(tmp_path: Path, ref: str) -> None:
    text = (
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n"
        f"components:\n  schemas:\n    Pet: {{$ref: '{ref}'}}\n"
    )
    message = error(OPENAPI, write(tmp_path, "remote.yaml", text)).message
    assert message == (
        f"remote.yaml: $ref '{ref}' cannot be resolved: references to other files or URLs "
        "are not followed"
    )


def test_openapi_schema_errors_come_before_semantic_crashes(tmp_path: Path) -> None:
    text = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /pets: not-an-object\n"
    assert error(OPENAPI, write(tmp_path, "broken.yaml", text)).message == (
        "broken.yaml is not a valid OpenAPI 3.0.3 document: paths./pets: 'not-an-object' is "
        "not of type 'object'"
    )


def test_openapi_3_1_alternatives_are_listed(tmp_path: Path) -> None:
    text = 'openapi: 3.1.0\ninfo: {title: t, version: "1"}\n'
    assert error(OPENAPI, write(tmp_path, "bare.yaml", text)).message == (
        "bare.yaml is not a valid OpenAPI 3.1.0 document: 'components' is a required property "
        "or 'paths' is a required property or 'webhooks' is a required property"
    )


def test_openapi_wrong_kind_and_missing_version(tmp_path: Path) -> None:
    asyncapi = error(OPENAPI, SPECS / "streetlights-asyncapi-2.6.yaml")
    assert asyncapi.message == (
        "streetlights-asyncapi-2.6.yaml is an AsyncAPI document, not an OpenAPI one"
    )
    assert asyncapi.hint == "add it with --kind ASYNCAPI_SPEC"
    cdx = error(OPENAPI, ASSETS / "cyclonedx-1.6.json")
    assert cdx.message == "cyclonedx-1.6.json is a CycloneDX JSON document, not an OpenAPI one"
    plain = error(OPENAPI, write(tmp_path, "plain.yaml", "title: x\n"))
    assert plain.message == (
        "plain.yaml is not an OpenAPI document: it has no 'openapi' or 'swagger' version field"
    )
    old = error(OPENAPI, write(tmp_path, "old.json", '{"swagger": "1.2", "info": {}}'))
    assert old.message == (
        "old.json is not a valid Swagger document: 'swagger' is '1.2', expected the string \"2.0\""
    )
    csv = error(OPENAPI, ASSETS / "not-json.csv")
    assert csv.message.startswith("not-json.csv is not an OpenAPI document: the top level is a")
    lst = error(OPENAPI, write(tmp_path, "list.json", "[1, 2]"))
    assert lst.message == (
        "list.json is not an OpenAPI document: the top level is an array, not an object"
    )


def test_openapi_validator_cache_is_released() -> None:
    from openapi_spec_validator.validation.validators import SpecValidator

    craft(OPENAPI, SPECS / "petstore-swagger-2.0.json")
    assert SpecValidator.iter_errors.__wrapped__.cache_info().currsize == 0  # type: ignore[attr-defined]


# --- ASYNCAPI_SPEC ---------------------------------------------------------------------------


def test_asyncapi_2_6_streetlights() -> None:
    material = craft(ASYNCAPI, SPECS / "streetlights-asyncapi-2.6.yaml")
    assert material.summary == {
        "spec_version": "2.6.0",
        "title": "Streetlights MQTT API",
        "version": "1.0.0",
        "channel_count": 3,
        "operation_count": 3,
        "server_count": 2,
        "protocols": ["mqtt", "ws"],
    }
    assert material.annotations == {
        "chainproof.material.api.spec_version": "2.6.0",
        "chainproof.material.api.name": "Streetlights MQTT API",
        "chainproof.material.api.version": "1.0.0",
        "chainproof.material.api.protocols": "mqtt,ws",
    }


def test_asyncapi_3_0_json() -> None:
    material = craft(ASYNCAPI, SPECS / "user-signup-asyncapi-3.0.json")
    assert material.summary == {
        "spec_version": "3.0.0",
        "title": "Account Service",
        "version": "1.2.0",
        "channel_count": 2,
        "operation_count": 2,
        "server_count": 2,
        "protocols": ["amqp", "kafka"],
    }
    assert material.annotations["chainproof.material.api.protocols"] == "amqp,kafka"


def test_asyncapi_older_2x_checked_against_2_6() -> None:
    summary = craft(ASYNCAPI, SPECS / "streetlights-asyncapi-2.3.yaml").summary
    assert (summary["spec_version"], summary["channel_count"]) == ("2.3.0", 3)


def test_asyncapi_without_servers(tmp_path: Path) -> None:
    text = 'asyncapi: 3.0.0\ninfo: {title: Bare, version: "0.1"}\n'
    material = craft(ASYNCAPI, write(tmp_path, "bare.yaml", text))
    assert material.summary["protocols"] == []
    assert "chainproof.material.api.protocols" not in material.annotations


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "asyncapi-invalid-operation-id.yaml",
            "asyncapi-invalid-operation-id.yaml is not a valid AsyncAPI 2.6.0 document: "
            "channels.smartylighting/streetlights/1/0/action/{streetlightId}/turn/off.publish."
            "operationId: 42 is not of type 'string'",
        ),
        (
            "asyncapi-3.0-with-2.x-publish.json",
            "asyncapi-3.0-with-2.x-publish.json is not a valid AsyncAPI 3.0.0 document: "
            "channels.userSignedup: unexpected field 'publish'",
        ),
        (
            "asyncapi-unsupported-version.yaml",
            "asyncapi-unsupported-version.yaml: AsyncAPI version '3.1.0' is not supported "
            "(AsyncAPI 2.0 to 2.6 and 3.0)",
        ),
        (
            "asyncapi-truncated.json",
            "asyncapi-truncated.json is not a valid AsyncAPI document: not JSON at line 55 "
            "column 19: Unterminated string starting at",
        ),
    ],
)
def test_asyncapi_invalid_samples(name: str, message: str) -> None:
    assert error(ASYNCAPI, SPECS / name).message == message


def test_asyncapi_local_references_must_resolve() -> None:
    channel = "channels.smartylighting/streetlights/1/0/action/{streetlightId}/turn"
    assert error(ASYNCAPI, SPECS / "asyncapi-dangling-ref.yaml").message == (
        "asyncapi-dangling-ref.yaml is not a valid AsyncAPI 2.6.0 document: "
        f"{channel}/on.publish.message: $ref '#/components/messages/switchLight' points to "
        f"nothing in the document; {channel}/off.publish.message: $ref "
        "'#/components/messages/switchLight' points to nothing in the document"
    )


def test_asyncapi_bindings_and_payload_schemas_resolve_offline(tmp_path: Path) -> None:
    doc = json.loads((SPECS / "user-signup-asyncapi-3.0.json").read_text())
    doc["servers"]["production"]["bindings"] = {
        "kafka": {"bindingVersion": "0.5.0", "schemaRegistryUrl": 5}
    }
    path = write(tmp_path, "bindings.json", json.dumps(doc))
    assert error(ASYNCAPI, path).message.endswith(
        "servers.production.bindings.kafka.schemaRegistryUrl: 5 is not of type 'string'"
    )
    doc = json.loads((SPECS / "user-signup-asyncapi-3.0.json").read_text())
    doc["components"]["messages"]["UserDeleted"]["payload"]["type"] = "uuid"
    path = write(tmp_path, "payload.json", json.dumps(doc))
    assert "components.messages.UserDeleted.payload.type: 'uuid' is not one of" in (
        error(ASYNCAPI, path).message
    )


def test_asyncapi_version_field_and_wrong_kind(tmp_path: Path) -> None:
    number = error(ASYNCAPI, write(tmp_path, "n.yaml", "asyncapi: 2.6\ninfo: {}\n"))
    assert number.message == (
        "n.yaml is not a valid AsyncAPI document: 'asyncapi' is a number, not a version string "
        'such as "3.0.0"'
    )
    openapi = error(ASYNCAPI, SPECS / "petstore-openapi-3.0.yaml")
    assert (
        openapi.message == "petstore-openapi-3.0.yaml is an OpenAPI document, not an AsyncAPI one"
    )
    assert openapi.hint == "add it with --kind OPENAPI_SPEC"
    spdx = error(ASYNCAPI, ASSETS / "spdx-2.3.json")
    assert spdx.message == "spdx-2.3.json is a SPDX JSON document, not an AsyncAPI one"
    plain = error(ASYNCAPI, write(tmp_path, "plain.yaml", "title: x\n"))
    assert plain.message == (
        "plain.yaml is not an AsyncAPI document: it has no 'asyncapi' version field"
    )


# --- GRAPHQL_SPEC ----------------------------------------------------------------------------


def test_graphql_bookstore() -> None:
    material = craft(GRAPHQL, SPECS / "bookstore.graphql")
    assert material.summary == {
        "type_count": 15,
        "types_by_kind": {
            "enum": 2,
            "input": 1,
            "interface": 1,
            "object": 9,
            "scalar": 1,
            "union": 1,
        },
        "query_fields": 5,  # four, plus one from `extend type Query`
        "mutation_fields": 2,
        "subscription_fields": 1,
        "directives": ["auth", "cost"],
    }
    assert material.annotations == {
        "chainproof.material.graphql.type_count": "15",
        "chainproof.material.graphql.directives": "auth,cost",
    }


def test_graphql_without_extension_or_directives() -> None:
    material = craft(GRAPHQL, SPECS / "catalog.sdl")
    assert material.summary == {
        "type_count": 2,
        "types_by_kind": {"object": 2},
        "query_fields": 2,
        "mutation_fields": 0,
        "subscription_fields": 0,
        "directives": [],
    }
    assert material.annotations == {"chainproof.material.graphql.type_count": "2"}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "graphql-syntax-error.graphql",
            "graphql-syntax-error.graphql is not a valid GraphQL schema: 71:12: Syntax Error: "
            "Expected ':', found Name 'PageInfo'.",
        ),
        (
            "graphql-unknown-type.graphql",
            "graphql-unknown-type.graphql is not a valid GraphQL schema: 50:12: Unknown type "
            "'Ofer'. Did you mean 'Offer'?; 54:11: Unknown type 'Strin'. Did you mean 'String'?",
        ),
        (
            "graphql-no-query-type.graphql",
            "graphql-no-query-type.graphql is not a valid GraphQL schema: Query root type must "
            "be provided.",
        ),
        (
            "graphql-federation-subgraph.graphql",
            "graphql-federation-subgraph.graphql is not a valid GraphQL schema: 1:14: Unknown "
            "directive '@key'.",
        ),
        (
            "graphql-query.graphql",
            "graphql-query.graphql is a GraphQL query document, not a schema: it holds "
            "operations or fragments (1:1)",
        ),
    ],
)
def test_graphql_invalid_samples(name: str, message: str) -> None:
    assert error(GRAPHQL, SPECS / name).message == message


def test_graphql_type_system_errors_and_limits(tmp_path: Path) -> None:
    text = "type Query { a: Int }\ninterface I { x: Int }\ntype T implements I { y: Int }\n"
    assert error(GRAPHQL, write(tmp_path, "i.graphql", text)).message == (
        "i.graphql is not a valid GraphQL schema: 2:15, 3:1: Interface field I.x expected "
        "but T does not provide it."
    )
    many = "type Query { a: Int }\n" + "".join(f"type T{i} {{ a: Int }}\n" for i in range(6))
    many = many.replace("type T5", "type T4")
    assert error(GRAPHQL, write(tmp_path, "dup.graphql", many)).message == (
        "dup.graphql is not a valid GraphQL schema: 6:6, 7:6: There can be only one type named "
        "'T4'.; 6:11, 7:11: Field 'T4.a' can only be defined once."
    )
    five = "".join(f"type Query {{ f{i}: Missing{i} }}\n" for i in range(1))
    five += "".join(f"type Extra{i} {{ f: Missing{i} }}\n" for i in range(5))
    message = error(GRAPHQL, write(tmp_path, "many.graphql", five)).message
    assert message.endswith("(and 3 more)")
    assert "not a valid GraphQL schema: 1:18: Unknown type 'Missing0'." in message


# --- HELM_CHART ------------------------------------------------------------------------------


def test_helm_chart_packaged_like_helm(web_chart: Path) -> None:
    data = web_chart.read_bytes()
    assert data[3] == 0x14 and HELM_GZIP_EXTRA in data[:80]  # FEXTRA|FCOMMENT, helm's extra
    material = craft(CHART, web_chart)
    assert material.summary == {
        "name": "web",
        "version": "0.3.1",
        "app_version": "1.16.0",
        "api_version": "v2",
        "type": "application",
        "dependency_count": 2,
        "dependencies": ["common", "redis"],
    }
    assert material.annotations == {
        "chainproof.material.helm.name": "web",
        "chainproof.material.helm.version": "0.3.1",
        "chainproof.material.helm.app_version": "1.16.0",
    }


def test_helm_v1_chart_with_requirements_and_empty_values(tmp_path: Path) -> None:
    path = helm_package(HELM / "legacy", tmp_path, "billing-worker-1.0.0-rc.2+build.17.tgz")
    material = craft(CHART, path)
    assert material.summary == {
        "name": "billing-worker",
        "version": "1.0.0-rc.2+build.17",
        "app_version": "2.4",
        "api_version": "v1",
        "type": "application",
        "dependency_count": 1,
        "dependencies": ["postgresql"],
    }


def test_helm_library_chart_without_app_version(tmp_path: Path) -> None:
    chart = b"apiVersion: v2\nname: common\ntype: library\nversion: 2.13.3\n"
    path = tgz(tmp_path, [("common/Chart.yaml", chart), ("common/values.yaml", b"{}\n")])
    material = craft(CHART, path)
    assert (material.summary["type"], material.summary["app_version"]) == ("library", None)
    assert "chainproof.material.helm.app_version" not in material.annotations


@pytest.mark.parametrize(
    ("asset", "message"),
    [
        ("version-not-semver.yaml", "version '1.2' is not a SemVer 2 version"),
        ("version-number.yaml", "version is a number (1.0), not a string"),
        ("app-version-number.yaml", "appVersion is a number (1.1), not a string"),
        ("api-version-v3.yaml", "apiVersion 'v3' is not v1 or v2"),
        ("missing-name.yaml", "name is required"),
        ("missing-api-version.yaml", "apiVersion is required"),
        ("missing-version.yaml", "version is required"),
        ("type-plugin.yaml", "type 'plugin' is not application or library"),
        ("name-path.yaml", "name '../web' is not a chart name"),
        ("duplicate-dependency.yaml", "more than one dependency with name or alias 'redis'"),
        ("dependency-without-name.yaml", "dependencies[0] has no name"),
        ("list.yaml", "the top level is an array, not a mapping"),
        ("not-yaml.yaml", "is not valid: not YAML at line 3 column 10: mapping values are"),
        ("duplicate-key.yaml", "is not valid: duplicate key 'name' at line 3"),
    ],
)
def test_helm_invalid_chart_yaml(tmp_path: Path, asset: str, message: str) -> None:
    replaced = {"Chart.yaml": (HELM / "invalid" / asset).read_bytes()}
    path = helm_package(HELM / "web", tmp_path, "web.tgz", replace=replaced)
    got = error(CHART, path)
    assert got.message.startswith("web.tgz: web/Chart.yaml")
    assert message in got.message


def test_helm_quote_hint_for_numbers(tmp_path: Path) -> None:
    replaced = {"Chart.yaml": (HELM / "invalid" / "app-version-number.yaml").read_bytes()}
    path = helm_package(HELM / "web", tmp_path, "web.tgz", replace=replaced)
    assert error(CHART, path).hint == 'quote it: appVersion: "1.1"'


def test_helm_values_must_be_a_mapping(tmp_path: Path) -> None:
    replaced = {"values.yaml": (HELM / "invalid" / "values-list.yaml").read_bytes()}
    path = helm_package(HELM / "web", tmp_path, "web.tgz", replace=replaced)
    assert error(CHART, path).message == (
        "web.tgz: web/values.yaml: the top level is an array, not a mapping"
    )
    broken = helm_package(HELM / "web", tmp_path, "b.tgz", replace={"values.yaml": b"a: [\n"})
    assert error(CHART, broken).message.startswith(
        "b.tgz: web/values.yaml is not valid: not YAML at line 2"
    )
    latin = helm_package(HELM / "web", tmp_path, "l.tgz", replace={"values.yaml": b"a: \xe9\n"})
    assert error(CHART, latin).message == "l.tgz: web/values.yaml is not UTF-8 text (byte 3)"


def test_helm_missing_files(tmp_path: Path) -> None:
    no_values = helm_package(HELM / "web", tmp_path, "nv.tgz", drop=("values.yaml",))
    assert error(CHART, no_values).message == (
        "nv.tgz is not a complete Helm chart: web/values.yaml is missing"
    )
    no_chart = helm_package(HELM / "web", tmp_path, "nc.tgz", drop=("Chart.yaml",))
    assert error(CHART, no_chart).message == (  # the subchart's Chart.yaml does not count
        "nc.tgz is not a Helm chart: it has no <chart>/Chart.yaml"
    )
    root = tgz(tmp_path, [("Chart.yaml", CHART_YAML), ("values.yaml", VALUES_YAML)], "root.tgz")
    assert error(CHART, root).message == (
        "root.tgz: Chart.yaml is not in a chart directory (Helm expects <chart>/Chart.yaml)"
    )


def test_helm_archive_layout_errors(tmp_path: Path) -> None:
    two = tgz(tmp_path, [("a/Chart.yaml", CHART_YAML), ("b/Chart.yaml", CHART_YAML)], "two.tgz")
    assert error(CHART, two).message == "two.tgz holds more than one chart directory (a, b)"
    twice = tgz(
        tmp_path,
        [("web/Chart.yaml", CHART_YAML), ("web/Chart.yaml", CHART_YAML)],
        "twice.tgz",
    )
    assert error(CHART, twice).message == "twice.tgz: web/Chart.yaml appears twice in the archive"
    for name in ("../evil/Chart.yaml", "/etc/web/Chart.yaml", "web/../../x"):
        path = tgz(tmp_path, [(name, CHART_YAML)], "unsafe.tgz")
        assert error(CHART, path).message == (
            f"unsafe.tgz is not a safe Helm chart: entry {name!r}"
        )


def test_helm_links_are_skipped_but_not_for_chart_files(tmp_path: Path) -> None:
    def archive(link_name: str) -> Path:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for name, data in (("web/Chart.yaml", CHART_YAML), ("web/values.yaml", VALUES_YAML)):
                if name != link_name:
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
            link = tarfile.TarInfo(link_name)
            link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(link)
        return write(tmp_path, "link.tgz", gzip_like_helm(buf.getvalue()))

    assert craft(CHART, archive("web/templates/secret.yaml")).summary["name"] == "web"
    assert error(CHART, archive("web/values.yaml")).message == (
        "link.tgz: web/values.yaml is not a regular file"
    )


def test_helm_not_gzip_truncated_or_not_tar(tmp_path: Path, web_chart: Path) -> None:
    plain = write(tmp_path, "plain.tgz", tar_bytes([("web/Chart.yaml", CHART_YAML)]))
    assert error(CHART, plain).message == (
        "plain.tgz is not a Helm chart: not a gzip-compressed tar archive"
    )
    truncated = write(tmp_path, "cut.tgz", web_chart.read_bytes()[:600])
    got = error(CHART, truncated)
    assert got.message.startswith("cut.tgz is not a readable Helm chart archive: ")
    assert "truncated" in str(got.hint)
    not_tar = write(tmp_path, "text.tgz", gzip.compress(b"hello, not a tar archive\n" * 40))
    assert error(CHART, not_tar).message.startswith("text.tgz is not a readable Helm chart")
    corrupt = bytearray(web_chart.read_bytes())
    corrupt[100:110] = bytes(10)
    got = error(CHART, write(tmp_path, "corrupt.tgz", bytes(corrupt)))
    assert got.message.startswith("corrupt.tgz is not a readable Helm chart archive: ")


def test_helm_bomb_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(helm_chart, "MAX_ENTRIES", 8)
    many = helm_entries(HELM / "web") + [(f"web/files/{i}", b"x") for i in range(10)]
    assert error(CHART, tgz(tmp_path, many, "many.tgz")).message == (
        "many.tgz has more than 8 entries"
    )
    monkeypatch.setattr(helm_chart, "MAX_UNPACKED_BYTES", 64 * 1024)
    big = [*helm_entries(HELM / "web")[:2], ("web/files/zeros", bytes(100 * 1024))]
    assert error(CHART, tgz(tmp_path, big, "big.tgz")).message == (
        "big.tgz unpacks to more than 65536 bytes (Helm's limit for a chart)"
    )
    monkeypatch.setattr(helm_chart, "MAX_FILE_BYTES", 256)
    assert error(CHART, tgz(tmp_path, helm_entries(HELM / "web"), "f.tgz")).message == (
        "f.tgz: web/Chart.yaml is larger than 256 bytes (Helm's limit for one file)"
    )


def test_helm_pax_headers_count_toward_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tarfile loads a PAX extended header whole before yielding its entry: the stream cap
    stops it where the entries' declared sizes cannot."""
    monkeypatch.setattr(helm_chart, "MAX_ENTRIES", 4)
    monkeypatch.setattr(helm_chart, "MAX_UNPACKED_BYTES", 16 * 1024)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("web/Chart.yaml")
        info.size, info.pax_headers = len(CHART_YAML), {"comment": "x" * 200_000}
        tar.addfile(info, io.BytesIO(CHART_YAML))
    path = write(tmp_path, "pax.tgz", gzip_like_helm(buf.getvalue()))
    assert error(CHART, path).message == (
        "pax.tgz unpacks to more than 16384 bytes (Helm's limit for a chart)"
    )


def test_helm_wrong_kind(tmp_path: Path) -> None:
    sbom = tgz(tmp_path, [("sboms/app.json", b"{}")], "sboms.tgz")
    assert (
        error(CHART, sbom).message == "sboms.tgz is not a Helm chart: it has no <chart>/Chart.yaml"
    )
    assert error(CHART, SPECS / "petstore-openapi-3.0.yaml").message == (
        "petstore-openapi-3.0.yaml is not a Helm chart: not a gzip-compressed tar archive"
    )


def test_openapi_unknown_anchor_is_a_dangling_reference(tmp_path: Path) -> None:
    text = (
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n"
        "      responses:\n        '200': {$ref: '#nope'}\n"
    )
    assert error(OPENAPI, write(tmp_path, "anchor.yaml", text)).message == (
        "anchor.yaml is not a valid OpenAPI 3.0.3 document: $ref '#nope' points to nothing in "
        "the document"
    )
