"""What every evidence-kind test checks of a crafted file, and how it asks for an error."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from chainproof.core.materials.base import CraftedMaterial, MaterialHandler
from chainproof.errors import MaterialError


def craft(handler: MaterialHandler, path: Path) -> CraftedMaterial:
    """Craft ``path``; assert what holds for every file kind (digest of the very bytes, size,
    upload path, annotation prefix, JSON summary)."""
    material = handler.craft("evidence", str(path))
    assert material.kind == handler.kind
    assert str(material.digest) == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert material.size == path.stat().st_size
    assert material.filename == path.name
    assert material.upload_path == path.absolute()
    assert all(key.startswith("chainproof.material.") for key in material.annotations)
    json.dumps(material.to_dict())  # the summary is JSON
    return material


def error(handler: MaterialHandler, path: Path | str) -> MaterialError:
    """The MaterialError crafting ``path`` raises (fails the test when none is raised)."""
    with pytest.raises(MaterialError) as info:
        handler.craft("evidence", str(path))
    return info.value
