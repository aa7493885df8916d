"""The deployment files under deploy/ and the tools that check them (helm), for the tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "chainproof"
HELM_FALLBACK = Path("/opt/helm/bin/helm")

#: Values that satisfy the chart's required ones (an S3 bucket as the CAS).
S3_VALUES = {
    "serverKey.value": "k" * 64,
    "database.url": "postgresql+psycopg://cp:pw@db.example:5432/chainproof",
    "cas.s3.bucket": "evidence",
    "cas.s3.endpoint": "https://s3.example",
    "cas.s3.accessKeyId": "AKIDEXAMPLE",
    "cas.secret": "s3-secret",
    "image.repository": "registry.example/chainproof",
    "image.tag": "9.9.9",
}


def helm() -> str:
    """The helm binary: on PATH, else where scripts/install-test-services.sh puts it."""
    found = shutil.which("helm") or (str(HELM_FALLBACK) if HELM_FALLBACK.is_file() else None)
    assert found, "helm not found: run scripts/install-test-services.sh (it installs /opt/helm)"
    return found


def helm_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm(), *args], capture_output=True, text=True, timeout=120, check=False)


def render(values: dict[str, str], release: str = "cp") -> list[dict[str, Any]]:
    """``helm template`` of the chart with ``--set`` values; the parsed documents."""
    sets = [arg for name, value in values.items() for arg in ("--set-string", f"{name}={value}")]
    out = helm_run("template", release, str(CHART), "--namespace", "evidence", *sets)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def by_kind(docs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}
