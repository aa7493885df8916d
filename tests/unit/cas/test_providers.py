"""The provider registry: settings are checked and normalised; backends are built without a
request; credentials never appear in a message or a repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainproof.cas.fs import FilesystemBackend
from chainproof.cas.oci import OciBackend
from chainproof.cas.providers import PROVIDERS, build_backend, check_settings, describe
from chainproof.errors import InvalidInput

SECRET = "do-not-print-me-123"


def test_settings_are_normalised() -> None:
    config, secret = check_settings(
        "s3",
        {"bucket": " evidence ", "region": "", "prefix": None, "access_key_id": "AKIA"},
        {"secret_access_key": SECRET},
    )
    assert config == {"bucket": "evidence", "access_key_id": "AKIA"}
    assert secret == {"secret_access_key": SECRET}


@pytest.mark.parametrize(
    ("provider", "config", "secret", "message"),
    [
        ("ftp", {}, {}, "unknown CAS backend provider"),
        ("fs", {}, {}, "needs path"),
        ("fs", {"path": "p"}, {"password": SECRET}, "no secret field 'password'"),
        ("oci", {"repository": "r.example/x", "region": "eu"}, {}, "no config field 'region'"),
        ("oci", {"repository": "r.example/x"}, {"password": SECRET}, "both username"),
        ("s3", {"bucket": "b", "access_key_id": "AKIA"}, {}, "both access_key_id"),
        ("azure-blob", {"container": "c"}, {}, "exactly one of account_url"),
        (
            "azure-blob",
            {"container": "c", "account_url": "https://a.blob.core.windows.net"},
            {"account_key": SECRET, "sas_token": SECRET},
            "not both",
        ),
        ("inline", {"path": "p"}, {}, "no config field 'path'"),
        ("inline", {}, {"password": SECRET}, "no secret field 'password'"),
        ("s3", {"bucket": 5}, {}, "must be a string"),
    ],
)
def test_bad_settings(
    provider: str, config: dict[str, object], secret: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        check_settings(provider, config, secret)
    assert message in err.value.message and SECRET not in err.value.message


def test_builds_each_provider_without_a_request(tmp_path: Path) -> None:
    fs = build_backend("fs", {"path": "ignored"}, {}, fs_path=tmp_path / "blobs")
    assert isinstance(fs, FilesystemBackend) and fs.root == tmp_path / "blobs"
    oci = build_backend(
        "oci",
        {"repository": "127.0.0.1:1/acme/evidence", "username": "ci"},
        {"password": SECRET},
        max_blob_size=1234,
    )
    assert isinstance(oci, OciBackend) and oci.max_blob_size == 1234
    assert SECRET not in repr(oci)
    oci.close()
    s3 = build_backend(
        "s3",
        {"bucket": "b", "endpoint": "http://127.0.0.1:1", "access_key_id": "AKIA"},
        {"secret_access_key": SECRET},
        max_blob_size=200 * 1000**3,  # needs parts above the 8 MiB default
    )
    assert SECRET not in repr(s3) and s3.part_size >= 200 * 1000**3 / 10_000
    s3.close()
    azure = build_backend(
        "azure-blob",
        {"container": "c", "account_url": "http://127.0.0.1:1/devstoreaccount1"},
        {"account_key": "a2V5"},
    )
    assert SECRET not in repr(azure)
    azure.close()


def test_inline_has_no_blob_store_to_build() -> None:
    assert check_settings("inline", {}, {}) == ({}, {})
    with pytest.raises(InvalidInput) as err:
        build_backend("inline", {}, {})
    assert "no blob store" in err.value.message


def test_every_provider_is_described() -> None:
    assert set(PROVIDERS) == {"fs", "oci", "s3", "azure-blob", "inline"}
    assert describe("s3", {"bucket": "b", "prefix": "p/"}) == "S3 s3://b/p/"
    assert describe("oci", {"repository": "r/x"}) == "OCI registry r/x"
