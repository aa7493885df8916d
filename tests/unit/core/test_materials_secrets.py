"""Secret-scanner evidence kinds (GITLEAKS_JSON, TRUFFLEHOG_JSON, YELP_DETECT_SECRETS_BASELINE)
against samples in tests/assets/materials/secrets.

The detect-secrets baselines were written by detect-secrets 1.5.0 itself (``detect-secrets scan``
and ``scan --slim`` over a small git tree holding fake credentials, and over a clean one). Gitleaks
and TruffleHog do not install from PyPI, so their samples are written by hand after their output
formats: Gitleaks' ``report.Finding`` (``--report-format json``) and TruffleHog's
``pkg/output/json.go`` (``--json``, one finding per line).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.unit.core.materials_kit import craft, error

from chainproof.core.materials.base import CraftedMaterial, MaterialHandler
from chainproof.core.materials.detect_secrets_baseline import DetectSecretsBaselineHandler
from chainproof.core.materials.ghas import (
    GhasCodeScanHandler,
    GhasDependencyScanHandler,
    GhasSecretScanHandler,
)
from chainproof.core.materials.gitlab_security_report import GitlabSecurityReportHandler
from chainproof.core.materials.gitleaks_json import GitleaksJsonHandler
from chainproof.core.materials.trufflehog_json import TrufflehogJsonHandler

ASSETS = Path(__file__).parents[2] / "assets" / "materials"
SECRETS = ASSETS / "secrets"
GHAS = ASSETS / "ghas"
GITLEAKS = GitleaksJsonHandler()
TRUFFLEHOG = TrufflehogJsonHandler()
DETECT_SECRETS = DetectSecretsBaselineHandler()
HANDLERS: tuple[MaterialHandler, ...] = (GITLEAKS, TRUFFLEHOG, DETECT_SECRETS)
EVERY_HANDLER: tuple[MaterialHandler, ...] = (
    *HANDLERS,
    GhasCodeScanHandler(),
    GhasSecretScanHandler(),
    GhasDependencyScanHandler(),
    GitlabSecurityReportHandler(),
)
TOOLS = "chainproof.material.tools"

# The fake credentials written into the samples; none may leave the file.
AWS_KEY = "AKIAQYLPMN5HHHFPZAM2"
AWS_SECRET = "Xq7tG2vLw9pN4rK8sD1fH6jB3mC5yZ0aE2uT7iO9"
API_KEY = "9f3b6c1d2e8a4f7b0c5d6e1f2a3b4c5d"
GITHUB_TOKEN = "ghp_R4nd0mF4k3T0k3nV4lu3F0rT3st1ngXYZ12"
SLACK_WEBHOOK = "q9W8e7R6t5Y4u3I2o1P0aSdF"
PRIVATE_KEY = "MIIEowIBAAKCAQEA3Tz2mr7S"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_secret_free(text: str, secrets: list[str]) -> None:
    assert secrets, "the sample should hold secrets for this check to mean something"
    for secret in secrets:
        assert secret not in text


def shown(material: CraftedMaterial) -> str:
    """Everything chainproof records about a material besides its bytes."""
    return json.dumps(material.summary) + json.dumps(material.annotations)


def load(name: str) -> Any:
    return json.loads((SECRETS / name).read_text(encoding="utf-8"))


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("gitleaks.json", "GITLEAKS_JSON"),
        ("gitleaks-dir-redacted.json", "GITLEAKS_JSON"),
        ("trufflehog.jsonl", "TRUFFLEHOG_JSON"),
        ("trufflehog-truncated.jsonl", "TRUFFLEHOG_JSON"),  # first line intact: craft tells
        ("detect-secrets-baseline.json", "YELP_DETECT_SECRETS_BASELINE"),
        ("detect-secrets-slim.json", "YELP_DETECT_SECRETS_BASELINE"),
        ("detect-secrets-clean.json", "YELP_DETECT_SECRETS_BASELINE"),
    ],
)
def test_each_sample_is_accepted_by_its_kind_only(name: str, kind: str) -> None:
    accepted = [h.kind for h in EVERY_HANDLER if h.accepts(str(SECRETS / name))]
    assert accepted == [kind]


@pytest.mark.parametrize(
    "value",
    [
        str(SECRETS / "gitleaks-empty.json"),  # [] says nothing of its tool: --kind needed
        str(SECRETS / "gitleaks-truncated.json"),
        str(SECRETS / "trufflehog-empty.jsonl"),
        str(SECRETS / "detect-secrets-truncated.json"),
        str(GHAS / "ghas-code-scanning.json"),
        str(GHAS / "ghas-secret-scanning.json"),
        str(GHAS / "ghas-dependabot.json"),
        str(GHAS / "gitlab-secret-detection.json"),
        str(ASSETS / "cyclonedx-1.6.json"),
        str(ASSETS / "evidence.json"),
        str(ASSETS / "not-json.csv"),
        str(ASSETS / "empty.json"),
        str(SECRETS / "missing.json"),
        str(SECRETS),
        "",
    ],
)
def test_other_values_are_not_accepted(value: str) -> None:
    assert [h.kind for h in HANDLERS if h.accepts(value)] == []


def test_a_gitleaks_file_is_not_trufflehog_and_the_reverse() -> None:
    assert not TRUFFLEHOG.accepts(str(SECRETS / "gitleaks.json"))
    assert not GITLEAKS.accepts(str(SECRETS / "trufflehog.jsonl"))
    assert not DETECT_SECRETS.accepts(str(SECRETS / "trufflehog.jsonl"))


def test_byte_order_mark_and_leading_blank_lines(tmp_path: Path) -> None:
    gitleaks = write(tmp_path, "g.json", "\ufeff\n" + (SECRETS / "gitleaks.json").read_text())
    assert GITLEAKS.accepts(str(gitleaks))
    assert GITLEAKS.craft("g", str(gitleaks)).summary["findings"] == 4
    truffle = write(tmp_path, "t.jsonl", "\ufeff\n\n" + (SECRETS / "trufflehog.jsonl").read_text())
    assert TRUFFLEHOG.accepts(str(truffle))
    assert TRUFFLEHOG.craft("t", str(truffle)).summary["findings"] == 5
    baseline = (SECRETS / "detect-secrets-baseline.json").read_text()
    ds = write(tmp_path, "d.json", "\ufeff  " + baseline)
    assert DETECT_SECRETS.accepts(str(ds))
    assert DETECT_SECRETS.craft("d", str(ds)).summary["findings"] == 7


def test_large_files_are_detected_by_head_and_tail(tmp_path: Path) -> None:
    findings = load("gitleaks.json")
    big_gitleaks = write(tmp_path, "g.json", json.dumps(findings * 100, indent=1))
    assert big_gitleaks.stat().st_size > 64 * 1024
    assert [h.kind for h in EVERY_HANDLER if h.accepts(str(big_gitleaks))] == ["GITLEAKS_JSON"]
    assert GITLEAKS.craft("g", str(big_gitleaks)).summary["findings"] == 400

    lines = (SECRETS / "trufflehog.jsonl").read_text().splitlines()
    big_truffle = write(tmp_path, "t.jsonl", "\n".join(lines * 40) + "\n")
    assert big_truffle.stat().st_size > 64 * 1024
    assert [h.kind for h in EVERY_HANDLER if h.accepts(str(big_truffle))] == ["TRUFFLEHOG_JSON"]
    assert TRUFFLEHOG.craft("t", str(big_truffle)).summary["by_detector"]["AWS"] == 80

    baseline = load("detect-secrets-baseline.json")
    secret = baseline["results"]["deploy/id_rsa"][0]
    baseline["results"] = {
        f"src/m{i}.py": [{**secret, "filename": f"src/m{i}.py"}] for i in range(800)
    }
    big_ds = write(tmp_path, "d.json", json.dumps(baseline, indent=2))
    assert big_ds.stat().st_size > 64 * 1024
    assert [h.kind for h in EVERY_HANDLER if h.accepts(str(big_ds))] == [
        "YELP_DETECT_SECRETS_BASELINE"
    ]
    summary = DETECT_SECRETS.craft("d", str(big_ds)).summary
    assert (summary["files_with_findings"], summary["findings"]) == (800, 800)


def test_large_baseline_without_results_is_not_accepted(tmp_path: Path) -> None:
    baseline = load("detect-secrets-baseline.json")
    del baseline["results"]
    baseline["filters_used"] *= 400
    path = write(tmp_path, "d.json", json.dumps(baseline, indent=2))
    assert path.stat().st_size > 64 * 1024
    assert not DETECT_SECRETS.accepts(str(path))


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.kind)
def test_missing_and_directory(handler: MaterialHandler, tmp_path: Path) -> None:
    assert "does not exist" in error(handler, tmp_path / "nope.json").message
    assert "is a directory" in error(handler, tmp_path).message
    assert "needs a file path" in error(handler, "").message


@pytest.mark.parametrize("handler", [GITLEAKS, DETECT_SECRETS], ids=lambda h: h.kind)
def test_empty_file_is_refused(handler: MaterialHandler, tmp_path: Path) -> None:
    assert "is empty" in error(handler, write(tmp_path, "empty.json", "")).message


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.kind)
def test_not_utf8(handler: MaterialHandler, tmp_path: Path) -> None:
    data = b'[{"RuleID": "caf\xe9"}]\n'
    path = tmp_path / "latin1.json"
    path.write_bytes(data)
    message = error(handler, path).message
    assert message.startswith("latin1.json is not a ")
    byte = data.index(b"\xe9")
    assert message.endswith(f"document: not UTF-8 text (byte {byte})")


# --- GITLEAKS_JSON ---------------------------------------------------------------------------


def test_gitleaks_report() -> None:
    material = craft(GITLEAKS, SECRETS / "gitleaks.json")
    assert material.summary == {
        "findings": 4,
        "by_rule": {"aws-access-token": 2, "generic-api-key": 1, "private-key": 1},
        "files": 3,
    }
    assert material.annotations == {TOOLS: '["gitleaks"]'}
    found = [f[k] for f in load("gitleaks.json") for k in ("Secret", "Match")]
    assert_secret_free(shown(material), [*found, AWS_KEY, API_KEY, PRIVATE_KEY])


def test_gitleaks_redacted_directory_scan() -> None:
    # `gitleaks dir --redact`: no commit metadata, fingerprint file:rule:line
    material = craft(GITLEAKS, SECRETS / "gitleaks-dir-redacted.json")
    assert material.summary == {"findings": 1, "by_rule": {"generic-api-key": 1}, "files": 1}


def test_gitleaks_clean_scan_is_valid() -> None:
    material = craft(GITLEAKS, SECRETS / "gitleaks-empty.json")
    assert material.summary == {"findings": 0, "by_rule": {}, "files": 0}
    assert material.annotations == {TOOLS: '["gitleaks"]'}


def test_gitleaks_empty_fingerprint_is_still_a_finding(tmp_path: Path) -> None:
    # gitleaks' own test fixture (testdata/expected/report/json_simple.json) has "Fingerprint": ""
    finding = {**load("gitleaks.json")[0], "Fingerprint": ""}
    path = write(tmp_path, "g.json", json.dumps([finding]))
    assert GITLEAKS.accepts(str(path))
    assert craft(GITLEAKS, path).summary == {
        "findings": 1,
        "by_rule": {"aws-access-token": 1},
        "files": 1,
    }


def _finding(**changes: Any) -> dict[str, Any]:
    finding: dict[str, Any] = dict(load("gitleaks.json")[1])
    for key, value in changes.items():
        if value is _DELETE:
            del finding[key]
        else:
            finding[key] = value
    return finding


_DELETE = object()


@pytest.mark.parametrize(
    ("second", "why"),
    [
        ("AKIA-not-an-object", "finding [1] is a string, not an object"),
        (["RuleID"], "finding [1] is an array, not an object"),
        (_finding(RuleID=_DELETE), "finding [1] RuleID is missing"),
        (_finding(RuleID=7), "finding [1] RuleID is not a string"),
        (_finding(Fingerprint=_DELETE), "finding [1] Fingerprint is missing"),
        (_finding(Fingerprint=None), "finding [1] Fingerprint is not a string"),
        (_finding(File=_DELETE), "finding [1] File is missing"),
        (_finding(File=["a.py"]), "finding [1] File is not a string"),
        (_finding(StartLine="5"), "finding [1] StartLine is not an integer"),
        (_finding(EndLine=5.0), "finding [1] EndLine is not an integer"),
        (_finding(StartColumn=True), "finding [1] StartColumn is not an integer"),
        (_finding(EndColumn=None), "finding [1] EndColumn is not an integer"),
    ],
)
def test_gitleaks_malformed_finding(tmp_path: Path, second: Any, why: str) -> None:
    doc = [load("gitleaks.json")[0], second]
    err = error(GITLEAKS, write(tmp_path, "bad.json", json.dumps(doc, indent=1)))
    assert err.message == f"bad.json is not a valid Gitleaks report: {why}"
    assert_secret_free(err.message + str(err.hint), [AWS_KEY, API_KEY])


def test_gitleaks_optional_fields_may_be_absent(tmp_path: Path) -> None:
    minimal = {"RuleID": "github-pat", "Fingerprint": "a.env:github-pat:1", "File": "a.env"}
    summary = craft(GITLEAKS, write(tmp_path, "g.json", json.dumps([minimal]))).summary
    assert summary == {"findings": 1, "by_rule": {"github-pat": 1}, "files": 1}


def test_gitleaks_v7_report_is_refused(tmp_path: Path) -> None:
    # gitleaks 7 wrote lower-case keys ("rule", "offender", "lineNumber"), no RuleID/Fingerprint
    v7 = [
        {
            "line": "key = AKIA...",
            "lineNumber": 3,
            "offender": "AKIA...",
            "rule": "AWS",
            "file": "a",
        }
    ]
    path = write(tmp_path, "v7.json", json.dumps(v7))
    assert not GITLEAKS.accepts(str(path))
    message = error(GITLEAKS, path).message
    assert message == "v7.json is not a valid Gitleaks report: finding [0] RuleID is missing"


@pytest.mark.parametrize(
    ("text", "what"), [("{}", "an object"), ('"[]"', "a string"), ("null", "null")]
)
def test_gitleaks_top_level_must_be_an_array(tmp_path: Path, text: str, what: str) -> None:
    err = error(GITLEAKS, write(tmp_path, "g.json", text))
    assert err.message == (
        f"g.json is not a Gitleaks JSON report: the top level is {what}, expected an array of "
        "findings"
    )
    assert err.hint == "produce it with gitleaks --report-format json"


@pytest.mark.parametrize(
    ("name", "label", "kind"),
    [
        ("ghas-code-scanning.json", "code scanning", "GHAS_CODE_SCAN"),
        ("ghas-secret-scanning.json", "secret scanning", "GHAS_SECRET_SCAN"),
        ("ghas-dependabot.json", "Dependabot", "GHAS_DEPENDENCY_SCAN"),
    ],
)
def test_gitleaks_refuses_github_alert_lists(name: str, label: str, kind: str) -> None:
    err = error(GITLEAKS, GHAS / name)
    assert err.message == f"{name} is a GitHub {label} alert list, not a Gitleaks report"
    assert err.hint == f"add it with --kind {kind}"


def test_gitleaks_truncated_not_json_and_other_kinds() -> None:
    truncated = error(GITLEAKS, SECRETS / "gitleaks-truncated.json")
    assert truncated.message == (
        "gitleaks-truncated.json is not a valid Gitleaks JSON document: not JSON at line 51 "
        "column 11: Unterminated string starting at"
    )
    assert "truncated" in str(truncated.hint)
    csv = error(GITLEAKS, ASSETS / "not-json.csv").message
    assert csv.startswith("not-json.csv is not a valid Gitleaks JSON document: not JSON at line 1")
    jsonl = error(GITLEAKS, SECRETS / "trufflehog.jsonl").message
    assert jsonl == (
        "trufflehog.jsonl is not a valid Gitleaks JSON document: not JSON at line 2 column 1: "
        "Extra data"
    )
    baseline = error(GITLEAKS, SECRETS / "detect-secrets-baseline.json").message
    assert "the top level is an object, expected an array of findings" in baseline


# --- TRUFFLEHOG_JSON -------------------------------------------------------------------------


def test_trufflehog_findings() -> None:
    material = craft(TRUFFLEHOG, SECRETS / "trufflehog.jsonl")
    assert material.summary == {
        "findings": 5,
        "verified": 1,
        "by_detector": {"AWS": 2, "Github": 1, "PrivateKey": 1, "SlackWebhook": 1},
    }
    assert material.annotations == {TOOLS: '["trufflehog"]'}
    lines = [json.loads(line) for line in (SECRETS / "trufflehog.jsonl").read_text().splitlines()]
    found = [line[k] for line in lines for k in ("Raw", "RawV2", "Redacted") if line[k]]
    assert_secret_free(
        shown(material), [*found, AWS_KEY, AWS_SECRET, GITHUB_TOKEN, SLACK_WEBHOOK, PRIVATE_KEY]
    )


@pytest.mark.parametrize("text", ["", "\n", "\r\n\n  \n"])
def test_trufflehog_no_output_means_no_findings(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "t.jsonl", text)
    material = craft(TRUFFLEHOG, path)
    assert material.summary == {"findings": 0, "verified": 0, "by_detector": {}}
    assert material.annotations == {TOOLS: '["trufflehog"]'}
    assert not TRUFFLEHOG.accepts(str(path))


def test_trufflehog_empty_sample_digest() -> None:
    material = craft(TRUFFLEHOG, SECRETS / "trufflehog-empty.jsonl")
    assert material.size == 0
    assert material.summary["findings"] == 0


def test_trufflehog_blank_lines_crlf_and_optional_fields(tmp_path: Path) -> None:
    lines = (SECRETS / "trufflehog.jsonl").read_text().splitlines()
    minimal = json.dumps({"DetectorName": "Stripe", "SourceMetadata": None})
    path = write(tmp_path, "t.jsonl", "\r\n".join([lines[0], "", minimal, "   ", lines[4]]))
    assert craft(TRUFFLEHOG, path).summary == {
        "findings": 3,
        "verified": 1,
        "by_detector": {"AWS": 1, "Github": 1, "Stripe": 1},
    }


def _line(**changes: Any) -> str:
    item: dict[str, Any] = json.loads((SECRETS / "trufflehog.jsonl").read_text().splitlines()[1])
    for key, value in changes.items():
        if value is _DELETE:
            del item[key]
        else:
            item[key] = value
    return json.dumps(item)


@pytest.mark.parametrize(
    ("second", "why"),
    [
        (_line(DetectorName=_DELETE), "line 2 has no string 'DetectorName'"),
        (_line(DetectorName=2), "line 2 has no string 'DetectorName'"),
        (_line(Verified="true"), "line 2 has a 'Verified' that is not a boolean"),
        (_line(Verified=1), "line 2 has a 'Verified' that is not a boolean"),
        (_line(SourceMetadata=[]), "line 2 has a 'SourceMetadata' that is not an object"),
        (_line(SourceMetadata="git"), "line 2 has a 'SourceMetadata' that is not an object"),
        ('"AKIAZ7VRSQ5CDOJXPHT4"', "line 2 is a string, not an object"),
        ("[1, 2]", "line 2 is an array, not an object"),
        # TruffleHog's own log lines go to stderr; mixed into the file they are not findings
        (
            '{"level":"info-0","ts":"2024-11-05T10:01:02Z","msg":"finished scanning"}',
            "line 2 has no string 'DetectorName'",
        ),
    ],
)
def test_trufflehog_malformed_line(tmp_path: Path, second: str, why: str) -> None:
    first = (SECRETS / "trufflehog.jsonl").read_text().splitlines()[0]
    err = error(TRUFFLEHOG, write(tmp_path, "bad.jsonl", f"{first}\n{second}\n"))
    assert err.message == f"bad.jsonl is not a valid TruffleHog JSON report: {why}"
    assert_secret_free(err.message + str(err.hint), [AWS_KEY, AWS_SECRET, "AKIAZ7VRSQ5CDOJXPHT4"])


def test_trufflehog_truncated() -> None:
    err = error(TRUFFLEHOG, SECRETS / "trufflehog-truncated.jsonl")
    assert err.message == (
        "trufflehog-truncated.jsonl is not a valid TruffleHog JSON report: line 3 is not JSON "
        "(column 373: Unterminated string starting at)"
    )
    assert "truncated" in str(err.hint)


def test_trufflehog_refuses_json_documents() -> None:
    gitleaks = error(TRUFFLEHOG, SECRETS / "gitleaks.json")
    assert gitleaks.message == (
        "gitleaks.json is not a valid TruffleHog JSON report: it is one JSON document (an array), "
        "not one JSON object per line"
    )
    assert "needs its own --kind" in str(gitleaks.hint)
    baseline = error(TRUFFLEHOG, SECRETS / "detect-secrets-baseline.json").message
    assert "it is one JSON document (an object), not one JSON object per line" in baseline
    empty_array = error(TRUFFLEHOG, SECRETS / "gitleaks-empty.json").message
    assert "it is one JSON document (an array)" in empty_array


def test_trufflehog_findings_gathered_in_an_array(tmp_path: Path) -> None:
    lines = [json.loads(x) for x in (SECRETS / "trufflehog.jsonl").read_text().splitlines()]
    one_line = write(tmp_path, "a.json", json.dumps(lines))  # e.g. jq -s . output, on one line
    assert not TRUFFLEHOG.accepts(str(one_line))
    assert "it is one JSON document (an array)" in error(TRUFFLEHOG, one_line).message
    pretty = write(tmp_path, "p.json", json.dumps(lines[0], indent=2))  # one finding, pretty
    assert not TRUFFLEHOG.accepts(str(pretty))
    assert "it is one JSON document (an object)" in error(TRUFFLEHOG, pretty).message


def test_trufflehog_not_json() -> None:
    err = error(TRUFFLEHOG, ASSETS / "not-json.csv")
    assert err.message.startswith(
        "not-json.csv is not a valid TruffleHog JSON report: line 1 is not JSON (column 1: "
    )


@pytest.mark.parametrize(
    ("first", "accepted"),
    [
        ('{"SourceMetadata":{"Data":{}},"DetectorName":"AWS"}', True),
        ('  {"DetectorName":"AWS","SourceMetadata":null}', True),
        ('{"DetectorName":"AWS"}', False),  # both keys on the first line
        ('{"SourceMetadata":{}}', False),
        ('[{"SourceMetadata":{},"DetectorName":"AWS"}]', False),
        ('{"level":"info-0","msg":"running source","DetectorName":"x"}', False),
    ],
)
def test_trufflehog_accepts_reads_the_first_line(
    tmp_path: Path, first: str, accepted: bool
) -> None:
    path = write(tmp_path, "t.jsonl", first + '\n{"DetectorName":"a","SourceMetadata":{}}\n')
    assert TRUFFLEHOG.accepts(str(path)) is accepted


# --- YELP_DETECT_SECRETS_BASELINE ------------------------------------------------------------

BASELINE_SUMMARY = {
    "version": "1.5.0",
    "plugins": 27,
    "files_with_findings": 3,
    "findings": 7,
    "verified": 0,
    "by_type": {
        "AWS Access Key": 2,
        "Base64 High Entropy String": 1,
        "Private Key": 1,
        "Secret Keyword": 2,
        "Slack Token": 1,
    },
}


def test_detect_secrets_baseline() -> None:
    material = craft(DETECT_SECRETS, SECRETS / "detect-secrets-baseline.json")
    assert material.summary == BASELINE_SUMMARY
    assert material.annotations == {TOOLS: '["detect-secrets@1.5.0"]'}
    hashes = [
        s["hashed_secret"]
        for found in load("detect-secrets-baseline.json")["results"].values()
        for s in found
    ]
    assert_secret_free(shown(material), hashes)


def test_detect_secrets_slim_baseline_without_line_numbers() -> None:
    # `detect-secrets scan --slim` drops line_number and generated_at; detect-secrets loads it
    assert "line_number" not in json.dumps(load("detect-secrets-slim.json"))
    material = craft(DETECT_SECRETS, SECRETS / "detect-secrets-slim.json")
    assert material.summary == BASELINE_SUMMARY


def test_detect_secrets_clean_baseline() -> None:
    material = craft(DETECT_SECRETS, SECRETS / "detect-secrets-clean.json")
    assert material.summary == {
        "version": "1.5.0",
        "plugins": 27,
        "files_with_findings": 0,
        "findings": 0,
        "verified": 0,
        "by_type": {},
    }


def test_detect_secrets_verified_audited_and_old_baselines(tmp_path: Path) -> None:
    baseline = load("detect-secrets-baseline.json")
    found = baseline["results"]["payments/config/settings.py"]
    found[0]["is_verified"] = True
    found[1]["is_verified"] = True
    found[2]["is_secret"] = False  # audited as a false positive
    baseline["results"]["docs/empty.md"] = []  # a file entry with no secrets left
    assert craft(DETECT_SECRETS, write(tmp_path, "v.json", json.dumps(baseline))).summary == {
        **BASELINE_SUMMARY,
        "verified": 2,
    }
    # a 0.x baseline: no filters_used, exclude settings, plugin options inline
    old = {
        "exclude": {"files": None, "lines": None},
        "generated_at": "2020-06-02T18:22:51Z",
        "plugins_used": [
            {"name": "AWSKeyDetector"},
            {"base64_limit": 4.5, "name": "Base64HighEntropyString"},
        ],
        "results": {
            "a.py": [
                {
                    "hashed_secret": "25910f981e85ca04baf359199dd0bd4a3ae738b6",
                    "is_verified": False,
                    "line_number": 3,
                    "type": "AWS Access Key",
                }
            ]
        },
        "version": "0.13.1",
    }
    path = write(tmp_path, "old.json", json.dumps(old, indent=2))
    assert DETECT_SECRETS.accepts(str(path))
    material = craft(DETECT_SECRETS, path)
    assert material.summary == {
        "version": "0.13.1",
        "plugins": 2,
        "files_with_findings": 1,
        "findings": 1,
        "verified": 0,
        "by_type": {"AWS Access Key": 1},
    }
    assert material.annotations == {TOOLS: '["detect-secrets@0.13.1"]'}


def _baseline(change: Any) -> str:
    baseline = load("detect-secrets-baseline.json")
    change(baseline)
    return json.dumps(baseline, indent=2)


def _secret(baseline: dict[str, Any]) -> dict[str, Any]:
    secret: dict[str, Any] = baseline["results"]["deploy/id_rsa"][0]
    return secret


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda b: b.update(version=1.5), "version is not a string"),
        (
            lambda b: b.update(plugins_used={"name": "AWSKeyDetector"}),
            "plugins_used is not an array",
        ),
        (
            lambda b: b["plugins_used"].append("AWSKeyDetector"),
            "plugins_used[27] has no string 'name'",
        ),
        (lambda b: b["plugins_used"][3].pop("name"), "plugins_used[3] has no string 'name'"),
        (lambda b: b.update(results=[]), "results is not an object of file -> secrets"),
        (
            lambda b: b["results"].update({"deploy/id_rsa": {"type": "Private Key"}}),
            "results['deploy/id_rsa'] is not an array",
        ),
        (
            lambda b: b["results"]["deploy/id_rsa"].append("be4fc4886bd9"),
            "results['deploy/id_rsa'][1] is not an object",
        ),
        (lambda b: _secret(b).pop("type"), "results['deploy/id_rsa'][0] has no string 'type'"),
        (
            lambda b: _secret(b).update(hashed_secret=None),
            "results['deploy/id_rsa'][0] has no string 'hashed_secret'",
        ),
        (
            lambda b: _secret(b).update(line_number="1"),
            "results['deploy/id_rsa'][0] has a 'line_number' that is not an integer",
        ),
        (
            lambda b: _secret(b).update(line_number=True),
            "results['deploy/id_rsa'][0] has a 'line_number' that is not an integer",
        ),
    ],
)
def test_detect_secrets_malformed(tmp_path: Path, change: Any, why: str) -> None:
    err = error(DETECT_SECRETS, write(tmp_path, "bad.json", _baseline(change)))
    assert err.message == f"bad.json is not a valid detect-secrets baseline report: {why}"


@pytest.mark.parametrize(
    ("drop", "missing"),
    [
        (("version",), "version"),
        (("plugins_used",), "plugins_used"),
        (("results",), "results"),
        (("version", "plugins_used", "results"), "version, plugins_used, results"),
    ],
)
def test_detect_secrets_required_keys(tmp_path: Path, drop: tuple[str, ...], missing: str) -> None:
    path = write(tmp_path, "b.json", _baseline(lambda b: [b.pop(k) for k in drop]))
    assert not DETECT_SECRETS.accepts(str(path))
    err = error(DETECT_SECRETS, path)
    assert err.message == f"b.json is not a detect-secrets baseline: missing {missing}"
    assert err.hint == "create it with detect-secrets scan > .secrets.baseline"


def test_detect_secrets_truncated_not_json_and_other_kinds(tmp_path: Path) -> None:
    truncated = error(DETECT_SECRETS, SECRETS / "detect-secrets-truncated.json")
    assert truncated.message == (
        "detect-secrets-truncated.json is not a valid detect-secrets baseline document: not JSON "
        "at line 130 column 9: Unterminated string starting at"
    )
    csv = error(DETECT_SECRETS, ASSETS / "not-json.csv").message
    assert csv.startswith("not-json.csv is not a valid detect-secrets baseline document: not JSON")
    array = error(DETECT_SECRETS, SECRETS / "gitleaks.json").message
    assert array == (
        "gitleaks.json is not a detect-secrets baseline: the top level is an array, not an object"
    )
    gitlab = error(DETECT_SECRETS, GHAS / "gitlab-secret-detection.json").message
    assert gitlab == (
        "gitlab-secret-detection.json is not a detect-secrets baseline: missing plugins_used, "
        "results"
    )
    wrong_types = write(tmp_path, "w.json", '{"version": 1, "plugins_used": {}, "results": []}')
    assert not DETECT_SECRETS.accepts(str(wrong_types))
