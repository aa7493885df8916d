"""CONTAINER_IMAGE against a real registry: tags resolved, latest and cosign signatures found."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import httpx
import pytest
from tests.registry import push_blob, push_image

from chainproof.core.digest import Digest
from chainproof.core.materials import CraftedMaterial
from chainproof.core.materials import craft as craft_with
from chainproof.errors import MaterialError, Unauthorized
from chainproof.oci.images import RegistryImageResolver
from chainproof.oci.registry import (
    Credentials,
    RegistryClient,
    credentials_for,
    split_repository,
)


def craft(name: str, value: str, kind: str) -> CraftedMaterial:
    """Craft as ``attestation add`` does: tags resolved by the registry, no credentials."""
    with RegistryImageResolver({}) as images:
        return craft_with(name, value, kind, images=images)


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


def _put_manifest(registry: str, repo: str, ref: str, manifest: dict[str, object]) -> str:
    body = json.dumps(manifest).encode()
    media_type = str(manifest["mediaType"])
    put = httpx.put(
        f"http://{registry}/v2/{repo}/manifests/{ref}",
        content=body,
        headers={"Content-Type": media_type},
    )
    assert put.status_code == 201, put.text
    return "sha256:" + hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(
    ("artifact_type", "provider"),
    [
        ("application/vnd.dev.sigstore.bundle.v0.3+json", "cosign"),
        ("application/vnd.cncf.notary.signature", "notation"),
    ],
)
def test_signature_found_through_oci_referrers(
    registry: str, artifact_type: str, provider: str
) -> None:
    """distribution 2.8 has no referrers API: the spec's fallback, an index tagged
    ``sha256-<hex>`` listing the referrers, is what a v1.1 client pushes there."""
    repo = "acme/" + provider
    digest = push_image(registry, repo, "3.0", layer=b"signed by " + provider.encode())
    layer_digest = push_blob(registry, repo, b"signature bytes")
    empty = push_blob(registry, repo, b"{}")
    signature = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": artifact_type,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [
            {"mediaType": artifact_type, "digest": layer_digest, "size": len(b"signature bytes")}
        ],
        "subject": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": 1,
        },
    }
    sig_digest = _put_manifest(registry, repo, "sig-manifest", signature)
    sbom = {**signature, "artifactType": "application/spdx+json"}
    sbom_digest = _put_manifest(registry, repo, "sbom-manifest", sbom)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": "application/spdx+json",  # an SBOM referrer: not a signature
                "digest": sbom_digest,
                "size": len(json.dumps(sbom)),
            },
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": artifact_type,
                "digest": sig_digest,
                "size": len(json.dumps(signature)),
            },
        ],
    }
    _put_manifest(registry, repo, digest.replace(":", "-"), index)
    crafted = craft("image", f"{registry}/{repo}:3.0", "CONTAINER_IMAGE")
    assert crafted.annotations["chainproof.material.signature.digest"] == sig_digest
    assert crafted.annotations["chainproof.material.signature.provider"] == provider


def test_referrers_of_an_unsigned_image_are_none(registry: str) -> None:
    digest = push_image(registry, "acme/plain", "1", layer=b"plain")
    with RegistryClient(registry) as client:
        assert client.referrers("acme/plain", Digest.parse(digest)) == []


def test_untagged_reference_means_latest(registry: str) -> None:
    digest = push_image(registry, "acme/cli", "latest", layer=b"cli")
    assert str(craft("image", f"{registry}/acme/cli", "CONTAINER_IMAGE").digest) == digest


def test_unknown_tag_is_a_clear_error(registry: str) -> None:
    push_image(registry, "acme/db", "1.0", layer=b"db")
    with pytest.raises(MaterialError, match=r"cannot resolve .*acme/db:9\.9.*not found"):
        craft("image", f"{registry}/acme/db:9.9", "CONTAINER_IMAGE")


def test_unreachable_registry_is_a_clear_error() -> None:
    # Port 9 on loopback: nothing listens, so the lookup fails at once (no outside traffic).
    with pytest.raises(MaterialError) as info:
        craft("image", "127.0.0.1:9/acme/api:1.4.2", "CONTAINER_IMAGE")
    assert "cannot resolve 127.0.0.1:9/acme/api:1.4.2" in info.value.message
    assert "cannot reach registry 127.0.0.1:9" in info.value.message


def test_resolver_uses_the_credentials_of_each_host(tmp_path: Path) -> None:
    """Credentials come from the environment the resolver was given, per registry host."""
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("Authorization")))
        if request.headers.get("Authorization") is None:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        return httpx.Response(
            200,
            headers={
                "Docker-Content-Digest": "sha256:" + "a" * 64,
                "Content-Type": "application/vnd.oci.image.manifest.v1+json",
            },
        )

    env = {
        "CHAINPROOF_REGISTRY_USERNAME": "u",
        "CHAINPROOF_REGISTRY_PASSWORD": "p",
        "CHAINPROOF_REGISTRY_SERVER": "ghcr.io",
        "DOCKER_CONFIG": str(tmp_path),
    }
    with RegistryImageResolver(env, transport=httpx.MockTransport(handler)) as images:
        found = images.resolve("ghcr.io/acme/api", "1.0")
        assert str(found.digest) == "sha256:" + "a" * 64
        with pytest.raises(Unauthorized):  # the credentials are for ghcr.io only
            images.resolve("quay.io/acme/api", "1.0")
    basic = "Basic " + base64.b64encode(b"u:p").decode()
    assert seen == [("ghcr.io", None), ("ghcr.io", basic), ("quay.io", None), ("quay.io", None)]


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
