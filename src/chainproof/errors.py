"""The one exception hierarchy of chainproof.

Every error carries a stable ``code`` (the CLI and API clients branch on it), the HTTP
status the control plane answers with, and the CLI exit code (docs/architecture.md §8)::

    ChainproofError                      code                     http  exit
    ├── InvalidInput                     invalid_input             400    2
    │   ├── ContractError                invalid_contract          422    2
    │   ├── MaterialError                invalid_material          422    2
    │   ├── PolicyError                  invalid_policy            422    2
    │   ├── TooLarge                     too_large                 413    2
    │   ├── JsonError                    invalid_json              400    2
    │   └── AmbiguousId                  ambiguous_id              400    2
    ├── CheckFailed                      check_failed              422    1
    │   ├── ContractNotSatisfied         contract_not_satisfied    422    1
    │   ├── RunnerMismatch               runner_mismatch           422    1
    │   ├── ContractOutdated             contract_outdated         422    1
    │   ├── VerificationError            verification_failed       422    1
    │   ├── PolicyEvaluationError        policy_evaluation_failed  422    1
    │   └── PolicyViolation              policy_violation          422    1
    ├── NotFound                         not_found                 404    3
    ├── Unauthorized                     unauthorized              401    3
    ├── Forbidden                        forbidden                 403    3
    │   └── Blocked                      blocked                   403    3
    ├── NotReady                         not_ready                 503    3
    ├── ServiceError                     service_error             502    4
    │   ├── NetworkError                 network_error             503    4
    │   └── Unavailable                  unavailable               503    4
    └── Conflict                         conflict                  409    5
        └── VersionReleased              version_released          409    5

The exit codes, for scripts: 0 ok; 1 a check failed (the evidence or a policy said no);
2 bad input (a malformed file, option or URL); 3 not found, not authorised, or refused until
an operator acts (``NotReady``: e.g. a database migration to run); 4 the server
or the network failed (retrying later may help); 5 the action clashes with the current
state (already exists, already finished, an attestation already in progress, state changed
meanwhile): nothing was wrong with the input, and nothing failed a check, so a script can
tell "already done" apart from both. ``ChainproofError`` itself (never raised on purpose)
exits 1 and answers 500.

Messages are one line a user can act on; ``diagnostics()`` adds the fix where one helps.
Never put secrets or tokens in a message.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ChainproofError(Exception):
    """Base of every error chainproof raises on purpose."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def diagnostics(self) -> str:
        """The message and, where one helps, what to do next."""
        return f"{self.message}\nHint: {self.hint}" if self.hint else self.message

    def to_problem(self) -> dict[str, Any]:
        """An RFC 9457 problem document for this error."""
        problem: dict[str, Any] = {
            "type": f"https://chainproof.dev/problems/{self.code}",
            "title": self.code.replace("_", " "),
            "status": self.http_status,
            "detail": self.message,
            "code": self.code,
        }
        if self.hint:
            problem["hint"] = self.hint
        if self.details:
            problem["details"] = self.details
        return problem

    @classmethod
    def from_problem(cls, problem: dict[str, Any]) -> ChainproofError:
        """Rebuild the most specific error from a problem document (client side)."""
        code = str(problem.get("code", ""))
        err_cls = _BY_CODE.get(code, ServiceError)
        message = str(problem.get("detail") or problem.get("title") or "request failed")
        details = problem.get("details") or {}
        hint = problem.get("hint")
        request_id = problem.get("request_id")
        if err_cls is ServiceError and isinstance(request_id, str) and not hint:
            # The server's own failure: its operator finds the log lines by this id.
            hint = f"the server logged it under request id {request_id}: quote it when reporting"
        return err_cls(message, hint=hint, **details)


class InvalidInput(ChainproofError):
    """The request or a file given to a command is malformed."""

    code = "invalid_input"
    http_status = 400
    exit_code = 2


class ContractError(InvalidInput):
    """A contract document is invalid; ``details`` may hold file, line and field."""

    code = "invalid_contract"
    http_status = 422


class MaterialError(InvalidInput):
    """A piece of evidence does not match its kind."""

    code = "invalid_material"
    http_status = 422


class PolicyError(InvalidInput):
    """A policy or policy group document, its Rego, or its arguments are invalid;
    ``details`` may hold source, line and field."""

    code = "invalid_policy"
    http_status = 422


class TooLarge(InvalidInput):
    """A body or blob is over a limit (e.g. a CAS backend's ``max_blob_size``)."""

    code = "too_large"
    http_status = 413


class AmbiguousId(InvalidInput):
    """An id prefix matches more than one thing; ``details["candidates"]`` names them."""

    code = "ambiguous_id"


class CheckFailed(ChainproofError):
    """A check that guards the supply chain did not pass."""

    code = "check_failed"
    http_status = 422
    exit_code = 1


class ContractNotSatisfied(CheckFailed):
    """The attestation lacks what the contract requires."""

    code = "contract_not_satisfied"


class RunnerMismatch(CheckFailed):
    """The CI runner is not the one the contract demands."""

    code = "runner_mismatch"


class ContractOutdated(CheckFailed):
    """The run's contract revision is past its grace period: a newer one is required."""

    code = "contract_outdated"


class VerificationError(CheckFailed):
    """A signature, certificate, identity or digest did not verify."""

    code = "verification_failed"


class PolicyEvaluationError(CheckFailed):
    """A policy could not be evaluated: it ran past its time limit, failed at run time, or
    gave a result of the wrong shape (``details["reason"]``)."""

    code = "policy_evaluation_failed"


class PolicyViolation(CheckFailed):
    """Policies found violations that block: a gate refused the push (``details`` lists
    them), or ``--exit-code-on-violation`` was asked for and any policy was violated."""

    code = "policy_violation"


class NotFound(ChainproofError):
    """The thing does not exist, or the caller may not know that it does."""

    code = "not_found"
    http_status = 404
    exit_code = 3


class Unauthorized(ChainproofError):
    """No valid credentials: missing, unknown, expired or revoked token."""

    code = "unauthorized"
    http_status = 401
    exit_code = 3


class Forbidden(ChainproofError):
    """Valid credentials that do not allow this action."""

    code = "forbidden"
    http_status = 403
    exit_code = 3


class Blocked(Forbidden):
    """An owner or admin blocked the workflow or its project: no run may start or land
    (``details`` holds scope, reason, blocked_by and blocked_at)."""

    code = "blocked"


class NotReady(ChainproofError):
    """The server cannot start until an operator acts, e.g. runs a database migration."""

    code = "not_ready"
    http_status = 503
    exit_code = 3


class Conflict(ChainproofError):
    """The action clashes with the current state (e.g. the run already finished)."""

    code = "conflict"
    http_status = 409
    exit_code = 5


class VersionReleased(Conflict):
    """The run's project version was released and the organisation refuses runs on released
    versions (``details`` holds project, version, released_at and released_by)."""

    code = "version_released"


class ServiceError(ChainproofError):
    """The control plane or CAS failed to do its part."""

    code = "service_error"
    http_status = 502
    exit_code = 4


class NetworkError(ServiceError):
    """The control plane or CAS could not be reached."""

    code = "network_error"
    http_status = 503


class Unavailable(ServiceError):
    """The control plane runs but cannot serve for a while (its database is unreachable);
    the API answers 503 with Retry-After, and the CLI retries idempotent calls."""

    code = "unavailable"
    http_status = 503


def _all_subclasses(cls: type[ChainproofError]) -> list[type[ChainproofError]]:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_all_subclasses(sub))
    return out


_BY_CODE: dict[str, type[ChainproofError]] = {c.code: c for c in _all_subclasses(ChainproofError)}
