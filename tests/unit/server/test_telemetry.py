"""Telemetry pieces without a server: job pass metrics, the JSON log formatter, check labels."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys

import pytest
from prometheus_client import REGISTRY

from chainproof.errors import InvalidInput, VerificationError
from chainproof.server.jobs import run_pass
from chainproof.server.telemetry import metrics
from chainproof.server.telemetry.logs import JsonFormatter, configure_logging
from chainproof.server.telemetry.requests import REQUEST_ID


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_run_pass_times_counts_failures_and_records_success() -> None:
    def broken() -> int:
        raise RuntimeError("database went away")

    failures = _value("chainproof_job_failures_total", job="unit_job")
    passes = _value("chainproof_job_duration_seconds_count", job="unit_job")
    assert asyncio.run(run_pass("unit_job", broken)) is None
    assert _value("chainproof_job_failures_total", job="unit_job") == failures + 1
    assert _value("chainproof_job_last_success_timestamp_seconds", job="unit_job") == 0
    assert asyncio.run(run_pass("unit_job", lambda a, b: a + b, 2, 3)) == 5
    assert _value("chainproof_job_duration_seconds_count", job="unit_job") == passes + 2
    assert _value("chainproof_job_last_success_timestamp_seconds", job="unit_job") > 0
    assert _value("chainproof_job_failures_total", job="unit_job") == failures + 1


@pytest.mark.parametrize(
    ("message", "check"),
    [
        ("signature check failed: the DSSE signature does not match", "signature"),
        ("SCT check failed: the leaf's issuer is unknown", "sct"),
        ("payload type check failed: 'x' is not in-toto", "payload_type"),
        ("the statement names workflow 'other'", "other"),
    ],
)
def test_verification_failures_are_labelled_by_check(message: str, check: str) -> None:
    before = _value("chainproof_verification_failures_total", check=check)
    metrics.verification_failed(VerificationError(message))
    assert _value("chainproof_verification_failures_total", check=check) == before + 1


def test_json_formatter_one_object_per_record_with_request_id() -> None:
    formatter = JsonFormatter()
    token = REQUEST_ID.set("req-7")
    try:
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            record = logging.LogRecord(
                "chainproof.test", logging.ERROR, __file__, 1, "failed: %s", ("x",), sys.exc_info()
            )
        record.request_id = REQUEST_ID.get()
        record.status = 500
        line = formatter.format(record)
    finally:
        REQUEST_ID.reset(token)
    assert "\n" not in line
    out = json.loads(line)
    assert out["level"] == "error" and out["logger"] == "chainproof.test"
    assert out["message"] == "failed: x" and out["request_id"] == "req-7"
    assert out["status"] == 500 and "ValueError: boom" in out["exception"]
    assert out["time"].endswith("Z")
    assert out["pid"] == os.getpid()  # `server start --workers N`: N+1 processes share stderr


def test_unknown_log_format_or_level_is_refused() -> None:
    with pytest.raises(InvalidInput, match="log format"):
        configure_logging("yaml", "info")
    with pytest.raises(InvalidInput, match="log level"):
        configure_logging("json", "chatty")
