"""CONTAINER_IMAGE tags resolved through an ImageResolver: core decides, the resolver looks up.

The resolver here is an in-memory registry; the real one (chainproof.oci.images) is tested
against a registry in tests/integration/oci.
"""

from __future__ import annotations

from typing import Any

import pytest

from chainproof.core import materials
from chainproof.core.digest import Digest
from chainproof.core.materials.container_image import ImageManifest
from chainproof.errors import MaterialError, NetworkError, NotFound

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
IMAGE = Digest.of_bytes(b"api 1.0")
OTHER = Digest.of_bytes(b"api 0.9")
SIG = Digest.of_bytes(b"signature")


class FakeRegistry:
    """Tags and referrers of one registry, and a log of what was asked."""

    def __init__(
        self,
        tags: dict[str, Digest],
        referrers: list[dict[str, Any]] | None = None,
        down: bool = False,
    ) -> None:
        self.tags = tags
        self.referrer_list = referrers or []
        self.down = down
        self.asked: list[tuple[str, str]] = []

    def resolve(self, repository: str, reference: str) -> ImageManifest:
        self.asked.append((repository, reference))
        if self.down:
            raise NetworkError("cannot reach registry ghcr.io (ConnectError)")
        if reference not in self.tags:
            raise NotFound(f"{repository}: {reference} not found")
        return ImageManifest(self.tags[reference], MANIFEST, 1234)

    def referrers(self, repository: str, digest: Digest) -> list[dict[str, Any]]:
        self.asked.append((repository, f"referrers of {digest}"))
        return self.referrer_list


def test_a_tag_is_resolved_to_its_manifest_digest() -> None:
    registry = FakeRegistry({"1.0": IMAGE, "latest": OTHER})
    crafted = materials.craft("image", "ghcr.io/acme/api:1.0", "CONTAINER_IMAGE", images=registry)
    assert crafted.digest == IMAGE
    assert crafted.filename == "ghcr.io/acme/api"
    assert crafted.annotations == {
        "chainproof.material.image.tag": "1.0",
        "chainproof.material.image.is_latest_tag": "false",
        "chainproof.material.image.media_type": MANIFEST,
    }
    assert crafted.summary == {
        "repository": "ghcr.io/acme/api",
        "tag": "1.0",
        "resolved": True,
        "digest": str(IMAGE),
    }
    assert registry.asked[:2] == [("ghcr.io/acme/api", "1.0"), ("ghcr.io/acme/api", "latest")]


def test_latest_and_a_cosign_signature_tag_are_recognised() -> None:
    cosign_tag = f"sha256-{IMAGE.hex}.sig"
    registry = FakeRegistry({"2.0": IMAGE, "latest": IMAGE, cosign_tag: SIG})
    crafted = materials.craft("image", "ghcr.io/acme/api:2.0", "CONTAINER_IMAGE", images=registry)
    assert crafted.annotations["chainproof.material.image.is_latest_tag"] == "true"
    assert crafted.annotations["chainproof.material.signature.digest"] == str(SIG)
    assert crafted.annotations["chainproof.material.signature.provider"] == "cosign"


def test_a_referrer_signature_is_found_when_there_is_no_cosign_tag() -> None:
    referrers = [
        {"artifactType": "application/spdx+json", "digest": str(OTHER)},  # an SBOM: skipped
        {"artifactType": "application/vnd.cncf.notary.signature", "digest": str(SIG)},
    ]
    registry = FakeRegistry({"latest": IMAGE}, referrers)
    crafted = materials.craft("image", "ghcr.io/acme/api", "CONTAINER_IMAGE", images=registry)
    assert crafted.digest == IMAGE
    assert crafted.annotations["chainproof.material.image.is_latest_tag"] == "true"
    assert crafted.annotations["chainproof.material.signature.digest"] == str(SIG)
    assert crafted.annotations["chainproof.material.signature.provider"] == "notation"


def test_an_unsigned_image_has_no_signature_annotations() -> None:
    registry = FakeRegistry({"1.0": IMAGE})
    crafted = materials.craft("image", "ghcr.io/acme/api:1.0", "CONTAINER_IMAGE", images=registry)
    assert not any("signature" in key for key in crafted.annotations)


def test_a_missing_tag_or_an_unreachable_registry_is_a_material_error() -> None:
    with pytest.raises(MaterialError, match=r"cannot resolve ghcr.io/acme/api:9\.9: .*not found"):
        materials.craft("i", "ghcr.io/acme/api:9.9", "CONTAINER_IMAGE", images=FakeRegistry({}))
    down = FakeRegistry({}, down=True)
    with pytest.raises(MaterialError, match=r"cannot reach registry ghcr\.io") as info:
        materials.craft("i", "ghcr.io/acme/api:1.0", "CONTAINER_IMAGE", images=down)
    assert "digest-pinned" in (info.value.hint or "")


def test_without_a_resolver_a_tag_is_refused_and_nothing_is_looked_up() -> None:
    with pytest.raises(MaterialError, match="names a tag") as info:
        materials.craft("image", "127.0.0.1:9/acme/api:1.4.2", "CONTAINER_IMAGE")
    assert "repo@sha256:" in (info.value.hint or "")


def test_a_pinned_reference_never_asks_the_resolver() -> None:
    registry = FakeRegistry({})
    ref = f"ghcr.io/acme/api:1.0@{IMAGE}"
    crafted = materials.craft("image", ref, "CONTAINER_IMAGE", images=registry)
    assert crafted.digest == IMAGE
    assert registry.asked == []
