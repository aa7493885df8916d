"""Policies as code: Chainloop's Policy and PolicyGroup documents, evaluated with Rego.

* :mod:`~chainproof.policy.document` parses the documents (errors name file and line);
* :mod:`~chainproof.policy.arguments` applies the ``with:`` argument rules;
* :mod:`~chainproof.policy.content` turns a material into the ``input`` a policy sees;
* :mod:`~chainproof.policy.engine` runs Rego (regopy) in a pool of worker processes
  (:mod:`~chainproof.policy.pool`), each evaluation with a time and a memory limit;
* :mod:`~chainproof.policy.verifier` finds the policies a contract applies and evaluates them;
* :mod:`~chainproof.policy.builtin` is the library of built-in policies (``docs/policies.md``).

The Rego interpreter (regopy) is imported only by the worker process, never here.
"""

from __future__ import annotations

from chainproof.policy.arguments import compute_arguments, input_arguments, split_value
from chainproof.policy.content import evaluable_content, material_input
from chainproof.policy.document import (
    ATTESTATION,
    GroupMaterial,
    Policy,
    PolicyGroup,
    PolicyInput,
    PolicyScript,
    parse_document,
)
from chainproof.policy.engine import (
    PreparedScript,
    RegoEngine,
    ScriptResult,
    Violation,
    default_engine,
    prepare,
)
from chainproof.policy.evaluation import ATTESTATION_KEY, PolicyEvaluation
from chainproof.policy.loader import PolicyLoader, Reference
from chainproof.policy.verifier import BoundPolicy, PolicyVerifier

__all__ = [
    "ATTESTATION",
    "ATTESTATION_KEY",
    "BoundPolicy",
    "GroupMaterial",
    "Policy",
    "PolicyEvaluation",
    "PolicyGroup",
    "PolicyInput",
    "PolicyLoader",
    "PolicyScript",
    "PolicyVerifier",
    "PreparedScript",
    "Reference",
    "RegoEngine",
    "ScriptResult",
    "Violation",
    "compute_arguments",
    "default_engine",
    "evaluable_content",
    "input_arguments",
    "material_input",
    "parse_document",
    "prepare",
    "split_value",
]
