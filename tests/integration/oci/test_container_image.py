"""CONTAINER_IMAGE against a real registry: tags resolved, latest and cosign signatures found."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from tests.registry import push_image

from chainproof.core.materials import craft
from chainproof.errors import MaterialError
from chainproof.oci.registry import Credentials, credentials_for, split_repository


def test_tag_resolves_to_the_manifest_digest(registry: str) -> None:
    digest = push_image(registry, "acme/api", "1.0", layer=b"api 1.0")
    crafted = craft("image", f"{registry}/acme/api:1.0", "CONTAINER_IMAGE")
    assert str(crafted.digest) == digest
    assert crafted.filename == f"{registry}/acme/api"
    assert crafted.annotations["chainproof.material.image.tag"] == "1.0"
    assert crafted.annotations["chainproof.material.image.is_latest_tag"] == "false"
    assert "chainproof.material.signature.digest" not in crafted.annotations
    assert crafted.upload_path is None


def test_latest_tag_and_cosign_signature_are_discovered(registry: str) -> None:
    digest = push_image(registry, "acme/web", "2.0", layer=b"web 2.0")
    assert push_image(registry, "acme/web", "latest", layer=b"web 2.0") == digest
    sig = push_image(registry, "acme/web", digest.replace(":", "-") + ".sig", layer=b"sig")
    crafted = craft("image", f"{registry}/acme/web:2.0", "CONTAINER_IMAGE")
    assert str(crafted.digest) == digest
    assert crafted.annotations["chainproof.material.image.is_latest_tag"] == "true"
    assert crafted.annotations["chainproof.material.signature.digest"] == sig
    assert crafted.annotations["chainproof.material.signature.provider"] == "cosign"


def test_untagged_reference_means_latest(registry: str) -> None:
    digest = push_image(registry, "acme/cli", "latest", layer=b"cli")
    assert str(craft("image", f"{registry}/acme/cli", "CONTAINER_IMAGE").digest) == digest


def test_unknown_tag_is_a_clear_error(registry: str) -> None:
    push_image(registry, "acme/db", "1.0", layer=b"db")
    with pytest.raises(MaterialError, match=r"cannot resolve .*acme/db:9\.9.*not found"):
        craft("image", f"{registry}/acme/db:9.9", "CONTAINER_IMAGE")


def test_repository_defaults() -> None:
    assert split_repository("alpine") == ("registry-1.docker.io", "library/alpine")
    assert split_repository("acme/api") == ("registry-1.docker.io", "acme/api")
    assert split_repository("127.0.0.1:5000/a/b") == ("127.0.0.1:5000", "a/b")
    assert split_repository("ghcr.io/acme/api") == ("ghcr.io", "acme/api")


def test_credentials_from_env_and_docker_config(tmp_path: Path) -> None:
    env = {"CHAINPROOF_REGISTRY_USERNAME": "u", "CHAINPROOF_REGISTRY_PASSWORD": "p"}
    assert credentials_for("ghcr.io", env) == Credentials("u", "p")
    scoped = {**env, "CHAINPROOF_REGISTRY_SERVER": "quay.io", "DOCKER_CONFIG": str(tmp_path)}
    assert credentials_for("ghcr.io", scoped) is None
    auth = base64.b64encode(b"bob:s3cret").decode()
    (tmp_path / "config.json").write_text(
        json.dumps({"auths": {"https://ghcr.io": {"auth": auth}}})
    )
    assert credentials_for("ghcr.io", {"DOCKER_CONFIG": str(tmp_path)}) == Credentials(
        "bob", "s3cret"
    )
    assert "s3cret" not in repr(Credentials("bob", "s3cret"))
