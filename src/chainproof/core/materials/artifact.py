"""ARTIFACT: any existing non-empty file (a binary, an archive, a report), hashed and uploaded."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from chainproof.core.materials._common import digest_file, existing_file
from chainproof.core.materials.base import CraftedMaterial


class ArtifactHandler:
    """Streams the file for its digest; the file is the upload."""

    kind: ClassVar[str] = "ARTIFACT"

    def accepts(self, value: str) -> bool:
        """Any existing path: a value naming a file is never a STRING. ``craft`` then refuses
        directories and empty files with the reason."""
        try:
            return bool(value) and Path(value).exists()
        except (OSError, ValueError):
            return False

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing path, a directory or an empty file."""
        path = existing_file(self.kind, value)
        digest, size = digest_file(self.kind, path)
        return CraftedMaterial(
            name=name,
            kind=self.kind,
            digest=digest,
            size=size,
            filename=path.name,
            upload_path=path.absolute(),
        )
