"""``attestation add``: validate evidence, upload it to the CAS and record it in the state."""

from __future__ import annotations

import dataclasses
import random
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainproof.client.attestation.policies import check_policy_arguments, material_policies
from chainproof.client.attestation.state import STATE_RETRIES, StateStore, store_for
from chainproof.client.attestation.uploads import stream_artifact, upload
from chainproof.errors import Conflict, MaterialError

if TYPE_CHECKING:
    from chainproof.client.cas import Progress
    from chainproof.client.http import ApiClient
    from chainproof.core.crafting import CraftingState
    from chainproof.core.materials.base import CraftedMaterial
    from chainproof.core.materials.container_image import ImageResolver
    from chainproof.policy.runtime import RuntimeInput

__all__ = ["add"]

PolicyReport = Callable[[str, list[dict[str, Any]]], None]


def add(
    api: ApiClient,
    state_file: Path | StateStore,
    *,
    name: str | None,
    value: str,
    kind: str | None = None,
    annotations: Mapping[str, str] | None = None,
    progress: Callable[[int], Progress | None] | None = None,
    notify: Callable[[str], None] | None = None,
    policy_report: PolicyReport | None = None,
    images: ImageResolver | None = None,
    policy_inputs: Sequence[RuntimeInput] = (),
) -> list[CraftedMaterial]:
    """Validate evidence, upload it to the CAS and record it; returns what was recorded.

    The kind comes from ``kind``, else the contract slot named ``name``. Without ``name``,
    the kind (unless given) is detected from the content and the material fills the first
    empty contract slot of that kind, else it is an extra material named after the file (or
    the kind). A ``name`` the contract lacks needs ``kind`` (so that a typo is an error).
    ``value`` may be an ``https://`` URL (downloaded first). An archive given for an SBOM or
    SARIF slot is exploded: one material per document (``name``, ``name-1``, ...), all
    validated before anything is uploaded or recorded. Files go to the CAS (skipped when it
    already has the digest, or the slot says ``skip_upload``). ``progress(total_bytes)`` may
    return a callback for each upload. The contract's material policies are evaluated
    before anything is uploaded (except for a large ARTIFACT file into a CAS backend that
    streams: it is read once, hashed while it is sent, and its digest known after); their
    results are recorded with the material and given to
    ``policy_report(name, evaluations)`` (violations do not stop the add; the control plane
    enforces gates at push). ``notify`` receives warnings (e.g. undeclared policy arguments).
    ``images`` resolves a CONTAINER_IMAGE tag to its digest (without it, images must be
    digest-pinned). ``policy_inputs`` (``--policy-input`` at add) apply to the policies of the
    materials recorded here, and are recorded with them (replacing those of an earlier add of
    the same name); InvalidInput when no attached policy declares one.
    Raises MaterialError for invalid evidence, PolicyError/PolicyEvaluationError when a
    policy cannot be loaded or evaluated, and the API's errors; on any error the state is
    unchanged.
    """
    store = store_for(state_file)
    state, version = store.load()
    given = dict(annotations or {})
    with tempfile.TemporaryDirectory(prefix="chainproof-add-") as tmp:
        streamed = _streamed_artifact(api, state, name, value, kind, progress)
        if streamed is not None:
            crafted, skip_upload = [streamed], True  # uploaded already
        else:
            crafted, skip_upload = _craft(state, name, value, kind, Path(tmp), images)
        inputs = _bound_inputs(api, state, crafted, policy_inputs)
        names = {c.name for c in crafted}
        evaluating = dataclasses.replace(
            state, policy_inputs=_merged(state.policy_inputs, inputs, names)
        )
        evaluations = material_policies(api, evaluating, crafted, given, notify)
        if not skip_upload:
            crafted = upload(api, state.run_id, crafted, progress)
    return _record(store, state, version, crafted, evaluations, given, policy_report, inputs)


def _bound_inputs(
    api: ApiClient,
    state: CraftingState,
    crafted: list[CraftedMaterial],
    given: Sequence[RuntimeInput],
) -> list[dict[str, str]]:
    """The runtime inputs of this add, checked against the contract's policies and bound to
    each material it records, in the state's JSON form."""
    if not given:
        return []
    from chainproof.policy.runtime import RuntimeInputs

    check_policy_arguments(api, state.contract, RuntimeInputs(tuple(given)))
    return [
        item.to_dict() for c in crafted for item in RuntimeInputs(tuple(given)).for_material(c.name)
    ]


def _merged(
    old: list[dict[str, str]], new: list[dict[str, str]], materials: set[str]
) -> list[dict[str, str]]:
    """The run's inputs with this add's in place of an earlier add's for its materials."""
    return [i for i in old if i.get("material") not in materials] + new


def _streamed_artifact(
    api: ApiClient,
    state: CraftingState,
    name: str | None,
    value: str,
    kind: str | None,
    progress: Callable[[int], Progress | None] | None,
) -> CraftedMaterial | None:
    """A large ARTIFACT file uploaded while it is hashed (one read), crafted with the digest
    that upload found; None when ``value`` is anything else (crafted and uploaded as usual)."""
    from chainproof.client.cas import STREAM_MIN
    from chainproof.client.fetch import is_url
    from chainproof.core.crafting_rules import material_kind
    from chainproof.core.materials.base import CraftedMaterial

    if name is None or is_url(value):
        return None  # the kind is detected from the content, or the file is downloaded first
    wanted = material_kind(state, name, kind)
    spec = state.spec_for(name)
    if wanted != "ARTIFACT" or (spec is not None and spec.skip_upload):
        return None
    path = Path(value)
    try:
        size = path.stat().st_size
    except OSError:
        return None  # crafting says what is wrong with it
    if not path.is_file() or size < STREAM_MIN:
        return None
    sent = stream_artifact(api, state.run_id, path, progress)
    if sent is None:
        return None
    return CraftedMaterial(
        name=name,
        kind="ARTIFACT",
        digest=sent[0],
        size=sent[1],
        filename=path.name,
        upload_path=path.absolute(),
        output=spec is not None and spec.output,
    )


def _craft(
    state: CraftingState,
    name: str | None,
    value: str,
    kind: str | None,
    tmp: Path,
    images: ImageResolver | None,
) -> tuple[list[CraftedMaterial], bool]:
    """The crafted materials ``value`` makes (one, or one per document of an archive), and
    whether their slot skips the upload."""
    from chainproof.client.fetch import download, is_url
    from chainproof.core.crafting_rules import automatic_name, document_names, material_kind
    from chainproof.core.materials import craft, detect_kind

    if is_url(value):
        value = str(download(value, tmp))
    if name is None:
        kind = kind or detect_kind(value)
        name = automatic_name(state, kind, value)
    wanted = material_kind(state, name, kind)
    values = _documents(value, wanted, tmp)
    names = document_names(name, len(values))
    crafted = [craft(n, v, wanted, images=images) for n, v in zip(names, values, strict=True)]
    spec = state.spec_for(name)
    if spec is not None and spec.output:
        crafted = [dataclasses.replace(c, output=True) for c in crafted]
    return crafted, spec is not None and spec.skip_upload


def _documents(value: str, kind: str | None, tmp: Path) -> list[str]:
    """``value``, or the documents of an archive given for a kind that explodes archives."""
    from chainproof.core.materials.archive import ARCHIVE_KINDS, explode, is_archive

    if not (kind in ARCHIVE_KINDS and Path(value).is_file() and is_archive(Path(value))):
        return [value]
    values = [str(p) for p in explode(Path(value), tmp / "entries")]
    if not values:
        raise MaterialError(f"{Path(value).name} holds no documents")
    return values


def _record(
    store: StateStore,
    state: CraftingState,
    version: str | None,
    crafted: list[CraftedMaterial],
    evaluations: dict[str, list[dict[str, Any]]],
    annotations: dict[str, str],
    policy_report: PolicyReport | None,
    inputs: list[dict[str, str]],
) -> list[CraftedMaterial]:
    """Record ``crafted`` (with this add's policy inputs) and save the state; a remote state
    another job wrote first is reloaded and the materials applied again."""
    for attempt in range(STATE_RETRIES):
        recorded = [state.add_material(c, annotations=dict(annotations)) for c in crafted]
        state.policy_evaluations.update({n: e for n, e in evaluations.items() if e})
        names = {c.name for c in crafted}
        state.policy_inputs = _merged(state.policy_inputs, inputs, names)
        try:
            store.save(state, version)
        except Conflict as err:
            if not err.details.get("stale") or attempt == STATE_RETRIES - 1:
                raise
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))  # noqa: S311
            state, version = store.load()
            continue
        for material_name, found in evaluations.items():
            if found and policy_report is not None:
                policy_report(material_name, found)
        return recorded
    raise AssertionError("unreachable")
