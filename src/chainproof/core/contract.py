"""Workflow contracts: what evidence a workflow must attest (Chainloop formats).

STUB: the data types below are fixed; parse/to_dict/from_dict are being written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Annotation:
    name: str
    value: str = ""


@dataclass(frozen=True)
class MaterialSpec:
    name: str
    kind: str
    optional: bool = False
    output: bool = False
    skip_upload: bool = False
    group: str | None = None
    annotations: tuple[Annotation, ...] = ()


@dataclass(frozen=True)
class Contract:
    name: str | None = None
    description: str | None = None
    materials: tuple[MaterialSpec, ...] = ()
    env_allow_list: tuple[str, ...] = ()
    runner_type: str | None = None
    annotations: tuple[Annotation, ...] = ()
    policies: dict[str, Any] = field(default_factory=dict)
    policy_groups: tuple[dict[str, Any], ...] = ()
