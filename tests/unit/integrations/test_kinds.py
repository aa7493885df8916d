"""Integration kinds as a library: entry points, configuration schemas, webhook signatures,
CloudEvents form, readable summaries, and the delivery backoff."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from chainproof.integrations import BUILTIN, GROUP, Event, Kind, load_kinds, status_outcome
from chainproof.integrations.dependency_track import DependencyTrackConfig
from chainproof.integrations.mail import EmailConfig
from chainproof.integrations.oci_export import OciExportConfig, tag_of
from chainproof.integrations.webhook import cloudevent, sign, verify
from chainproof.server.services.delivery import RetryPolicy

EVENT = Event(
    id="0b9f",
    type="run.failed",
    time=datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
    org="acme",
    subject="run-1",
    data={"project": "shop", "workflow": "build", "reason": "tests failed", "url": "http://x/r"},
)


def test_builtin_kinds_load_as_entry_points() -> None:
    kinds = load_kinds()
    assert set(BUILTIN) <= kinds.keys()
    assert {"webhook", "slack", "discord", "teams", "email"} <= kinds.keys()
    assert {"dependency-track", "oci-export"} <= kinds.keys()
    assert all(isinstance(k, Kind) and k.name == n for n, k in kinds.items())
    schema = kinds["email"].config.model_json_schema()
    assert {"host", "sender", "to"} <= set(schema["required"])


def test_the_builtin_table_is_what_pyproject_declares() -> None:
    pyproject = Path(__file__).resolve().parents[3] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text())["project"]["entry-points"][GROUP]
    assert declared == BUILTIN


def test_webhook_signature_covers_timestamp_and_body_within_the_window() -> None:
    body = b'{"id":"0b9f"}'
    signature = sign("k", 1_000_000, body)
    assert signature.startswith("v1=") and len(signature) == 3 + 64
    assert verify("k", "1000000", signature, body, now=1_000_100)
    assert not verify("k", "1000000", signature, body + b" ", now=1_000_100)
    assert not verify("k", "1000001", signature, body, now=1_000_100)  # timestamp is signed
    assert not verify("other", "1000000", signature, body, now=1_000_100)
    assert not verify("k", "1000000", signature, body, now=1_000_000 + 301)  # replayed late


def test_cloudevent_form() -> None:
    doc = cloudevent(EVENT)
    assert doc["specversion"] == "1.0" and doc["id"] == "0b9f"
    assert doc["type"] == "dev.chainproof.run.failed" and doc["source"] == "chainproof/acme"
    assert doc["time"] == "2026-12-07T09:00:00Z" and doc["data"] == EVENT.data


def test_summaries_are_readable() -> None:
    assert EVENT.summary() == "[acme] run of shop/build failed: tests failed"
    assert EVENT.details().endswith("\nhttp://x/r")  # no dashboard link: the API's
    linked = {
        **EVENT.data,
        "run_url": "https://cp/runs/r1",
        "workflow_url": "https://cp/workflows/w1",
    }
    lines = Event("3", "run.failed", EVENT.time, "acme", "r1", linked).details().splitlines()
    assert lines[1:] == ["run: https://cp/runs/r1", "workflow: https://cp/workflows/w1"]
    contract = Event("1", "contract.published", EVENT.time, "acme", "c@2", {"contract": "c"})
    assert "contract c revision None published" in contract.summary()
    data = {"project": "shop", "workflow": "build", "kind": "failing", "severity": "high"}
    finding = Event("2", "finding.opened", EVENT.time, "acme", "f-1", data)
    assert finding.summary() == "[acme] high finding failing opened on shop/build"


def test_email_config_splits_recipients_and_refuses_unknown_keys() -> None:
    config = EmailConfig.model_validate(
        {"host": "h", "port": "25", "sender": "a@x", "to": "b@x, c@x", "starttls": "false"}
    )
    assert config.to == ["b@x", "c@x"] and config.port == 25 and config.starttls is False
    with pytest.raises(ValidationError):
        EmailConfig.model_validate({"host": "h", "sender": "a", "to": "b", "passwd": "x"})


def test_only_2xx_is_delivered() -> None:
    assert status_outcome(204).ok
    assert not status_outcome(302).ok and not status_outcome(500, "boom").ok
    assert status_outcome(500, "boom").error == "HTTP 500: boom"


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(backoff=5, backoff_max=60)
    assert [policy.delay(n, lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 40, 60]
    assert policy.delay(3, lambda: 0.0) == 10  # jitter: never below half the delay


def test_dependency_track_names_take_known_placeholders_only() -> None:
    config = DependencyTrackConfig.model_validate({"url": "https://dt.example.com"})
    assert (config.project_name, config.project_version) == ("{project}", "{version}")
    named = {"url": "https://dt", "project_name": "{org}-{project}-{material}"}
    assert DependencyTrackConfig.model_validate(named).project_name == "{org}-{project}-{material}"
    for bad in ("{team}", "", "{project"):
        with pytest.raises(ValidationError):
            DependencyTrackConfig.model_validate({"url": "https://dt", "project_name": bad})


def test_oci_export_config_and_tag() -> None:
    assert OciExportConfig.model_validate({"registry": "GHCR.io"}).registry == "ghcr.io"
    assert OciExportConfig.model_validate({"registry": "docker.io"}).registry == (
        "registry-1.docker.io"
    )
    for bad in ("https://ghcr.io", "ghcr.io/org", ""):
        with pytest.raises(ValidationError):
            OciExportConfig.model_validate({"registry": bad})
    assert tag_of("sha256:" + "ab" * 32) == "sha256-" + "ab" * 32 + ".att"
