"""Tools for policy authors: scaffold a policy, lint it, evaluate it on a file.

The ``chainproof policy develop init|lint|eval`` commands shell over these functions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainproof.core import jsonload
from chainproof.errors import ChainproofError, InvalidInput, MaterialError, PolicyError
from chainproof.policy.document import ATTESTATION, Policy, PolicyGroup, PolicyScript
from chainproof.policy.engine import RegoEngine, default_engine, prepare
from chainproof.policy.evaluation import PolicyEvaluation
from chainproof.policy.loader import PolicyLoader, Reference
from chainproof.policy.rego import FORBIDDEN, NETWORK

if TYPE_CHECKING:
    from chainproof.core.materials.container_image import ImageResolver

__all__ = ["Problem", "evaluate_file", "lint", "load_policy", "scaffold"]

_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")

_REGO_TEMPLATE = """\
package {package}

import rego.v1

# The input is the material's content ({kind}); arguments from the contract's `with:`
# are in input.args. Without a `result` rule, chainproof builds one from `violations`,
# `valid_input` and `skip_reason` (as Chainloop does).

valid_input if {{
	# TODO: recognise the content this policy understands
	is_object(input)
}}

default skip_reason := ""

skip_reason := "the input is not what {name} expects" if not valid_input

violations contains msg if {{
	valid_input
	# TODO: the check; each message is one violation
	input.args.forbidden == "yes"
	msg := "forbidden is set"
}}
"""

_YAML_TEMPLATE = """\
apiVersion: chainloop.dev/v1
kind: Policy
metadata:
  name: {name}
  description: {description}
  annotations:
    category: custom
spec:
  inputs:
    - name: forbidden
      description: An example argument, given with `with:` in the contract.
      default: "no"
  policies:
    - kind: {kind}
{source}"""


def scaffold(
    directory: Path,
    name: str,
    *,
    kind: str = "SBOM_CYCLONEDX_JSON",
    description: str = "",
    embedded: bool = False,
    force: bool = False,
) -> list[Path]:
    """Write a starter ``<name>.yaml`` (and ``<name>.rego`` unless ``embedded``) in
    ``directory``; returns the files written. InvalidInput for a bad name or when a file
    exists (unless ``force``)."""
    if len(name) > 63 or not _NAME.fullmatch(name):
        raise InvalidInput(
            f"{name!r} is not a policy name (lowercase letters, digits and '-', at most 63)"
        )
    yaml_path = directory / f"{name}.yaml"
    rego_path = directory / f"{name}.rego"
    targets = [yaml_path] if embedded else [yaml_path, rego_path]
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise InvalidInput(f"{existing[0]} already exists", hint="pass --force to overwrite it")
    rego = _REGO_TEMPLATE.format(package=name.replace("-", "_"), kind=kind, name=name)
    if embedded:
        body = "".join(f"        {line}\n" if line else "\n" for line in rego.splitlines())
        source = "      embedded: |\n" + body
    else:
        source = f"      path: {rego_path.name}\n"
    text = _YAML_TEMPLATE.format(
        name=name,
        description=json.dumps(description or f"TODO: what {name} checks"),
        kind=kind,
        source=source,
    )
    directory.mkdir(parents=True, exist_ok=True)
    yaml_path.write_text(text, encoding="utf-8")
    if not embedded:
        rego_path.write_text(rego, encoding="utf-8")
    return targets


@dataclass(frozen=True)
class Problem:
    """One lint finding (a message that names file and line where it can)."""

    message: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"message": self.message, "line": self.line}


def lint(path: Path, *, engine: RegoEngine | None = None) -> list[Problem]:
    """Check a policy or group file (or a bare ``.rego`` script): schema, Rego syntax and
    compilation, the result's shape on an empty input; for a group, that every policy it
    names loads. [] when it is clean."""
    engine = engine or default_engine()
    if path.suffix == ".rego":
        try:
            source = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as err:
            return [Problem(f"{path}: cannot read: {err}")]
        scripts = [PolicyScript(kind=None, source=source, origin=str(path))]
        return _lint_scripts(path.stem, scripts, engine)
    loader = PolicyLoader(base_dir=path.parent)
    try:
        doc = loader.file(path)
    except PolicyError as err:
        return [Problem(err.message, err.details.get("line"))]
    if isinstance(doc, Policy):
        return _lint_scripts(doc.name, list(doc.scripts), engine)
    problems = []
    attachments = [a for m in doc.materials for a in m.policies] + list(doc.attestation)
    for attachment in attachments:
        try:
            loader.policy(attachment)
        except ChainproofError as err:
            problems.append(Problem(f"{path}: {err.message}"))
    return problems


def _lint_scripts(name: str, scripts: list[PolicyScript], engine: RegoEngine) -> list[Problem]:
    problems = []
    for script in scripts:
        try:
            prepared = prepare(script, name)
            try:
                engine.evaluate(prepared, {"args": {}})
            except PolicyError as err:
                if err.message != f"{script.origin}: {FORBIDDEN[NETWORK]}":
                    raise
                engine.check(prepared)  # http.send: compiled, never sent from lint
        except PolicyError as err:
            problems.append(Problem(err.message, err.details.get("line")))
        except ChainproofError as err:
            problems.append(Problem(f"{script.origin}: {err.message}"))
    return problems


def load_policy(ref: str, *, loader: PolicyLoader | None = None) -> tuple[Policy, Reference]:
    """A policy from a file path, a built-in name, or a ``file://``/``https://`` reference."""
    loader = loader or PolicyLoader()
    path = Path(ref)
    if "://" not in ref and path.is_file():
        doc: Policy | PolicyGroup = loader.file(path)
        reference = Reference(doc.name, f"file://{path.absolute()}", doc.digest)
    else:
        doc, reference = loader.load(ref)
    if not isinstance(doc, Policy):
        raise PolicyError(f"{ref} is a PolicyGroup; give one of its policies")
    return doc, reference


def evaluate_file(
    policy_ref: str,
    material: str,
    *,
    kind: str | None = None,
    inputs: Mapping[str, str] | None = None,
    engine: RegoEngine | None = None,
    warn: Any = None,
    images: ImageResolver | None = None,
    allowed_hosts: Sequence[str] = (),
) -> tuple[PolicyEvaluation | None, str]:
    """Evaluate a policy on an evidence file as ``attestation add`` would; returns the
    evaluation (None when every script ignored the input) and the kind used. ``images``
    resolves a CONTAINER_IMAGE tag (without it, images must be digest-pinned);
    ``allowed_hosts`` are the hosts the policy's ``http.send`` may reach (none: refused).

    The material is validated as its kind first (detected when ``kind`` is None). For
    ATTESTATION a bare in-toto statement is accepted as well as an envelope or bundle.
    """
    from chainproof.core.materials import craft, detect_kind
    from chainproof.policy.content import material_input
    from chainproof.policy.verifier import PolicyVerifier

    policy, reference = load_policy(policy_ref)
    chosen = (kind or detect_kind(material)).upper()
    if not policy.scripts_for(chosen):
        raise PolicyError(
            f"policy {policy.name} has no script for {chosen} materials "
            f"(it applies to {', '.join(policy.kinds()) or 'materials chosen by name'})",
            hint="pass --kind with one of those kinds",
        )
    try:
        crafted = craft("material", material, chosen, images=images)
        content = material_input(crafted)
    except MaterialError:
        statement = _bare_statement(material) if chosen == ATTESTATION else None
        if statement is None:
            raise
        content = {**statement, "chainloop_metadata": {"name": Path(material).name}}
    verifier = PolicyVerifier(engine=engine, warn=warn, allowed_hosts=allowed_hosts)
    evaluation = verifier.evaluate(
        policy,
        chosen,
        content,
        args=inputs,
        reference=reference,
        material_name="material" if chosen != ATTESTATION else None,
    )
    return evaluation, chosen


def _bare_statement(path: str) -> dict[str, Any] | None:
    try:
        doc = jsonload.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None
    if isinstance(doc, dict) and str(doc.get("_type", "")).startswith("https://in-toto.io/"):
        return doc
    return None
