"""The Rego engine adapter: regopy in a pool of child processes, with hard limits per evaluation.

rego-cpp evaluates in native code that Python cannot interrupt, so evaluations run in worker
processes (:mod:`chainproof.policy.pool`, :mod:`chainproof.policy._worker`), killed when one
runs past its time limit (``reason="timeout"``) or its memory limit (``reason="memory"``):
the caller gets a :class:`~chainproof.errors.PolicyEvaluationError` instead of a hung CI job
or server, and the next evaluation starts a new worker. Each worker keeps each compiled
policy (keyed by the digest of its modules) and the last materials, so evaluating N policies
over one SBOM parses it once and compiles each policy once per worker (an evaluation prefers
the idle worker that holds its material). Their environment is empty, and they refuse a
policy whose compiled plan calls a forbidden built-in (:data:`~chainproof.policy.rego.FORBIDDEN`).
``http.send`` is forbidden unless the evaluation allow-lists hosts: the worker then answers
each call itself, towards those hosts only (the module docstring of ``_worker`` says how).

Errors from regopy are translated here, once: a Rego syntax or compile error becomes a
:class:`~chainproof.errors.PolicyError` naming the policy file and line
(``policy.yaml:12:9: ...``, the line in the YAML for ``embedded: |`` scripts), a run-time
failure or a result of the wrong shape a PolicyEvaluationError.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import json
import queue
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chainproof.errors import PolicyError, PolicyEvaluationError
from chainproof.policy.arguments import ArgValue
from chainproof.policy.document import PolicyScript
from chainproof.policy.pool import (
    DEFAULT_MEMORY_MB,
    OverMemory,
    Worker,
    WorkerPool,
    default_workers,
)
from chainproof.policy.rego import (
    FORBIDDEN,
    NETWORK,
    boilerplate,
    check_source,
    input_keys,
    package_of,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "PreparedScript",
    "RegoEngine",
    "ScriptResult",
    "Violation",
    "default_engine",
    "prepare",
]

DEFAULT_TIMEOUT = 10.0
"""Seconds one policy script may run against one input."""
_MAX_PROJECTIONS = 8
_REGOPY_HINT = (
    "install regopy (pip install regopy; wheels exist for Linux x86-64 with glibc 2.34+ "
    "and Windows)"
)


@dataclass(frozen=True)
class Violation:
    """One violation a policy reported; ``subject`` is the policy's name."""

    subject: str
    message: str


@dataclass(frozen=True)
class ScriptResult:
    """What one script said about one input."""

    violations: tuple[Violation, ...] = ()
    skipped: bool = False
    skip_reason: str = ""
    ignore: bool = False


@dataclass(frozen=True)
class PreparedScript:
    """A checked script, with the boilerplate it needs, ready for the worker.

    ``key`` is the sha256 of its modules: the worker compiles each key once. ``reads`` is
    the top-level input keys the modules can read (None: any), see
    :func:`~chainproof.policy.rego.input_keys`.
    """

    policy: str
    package: str
    modules: tuple[tuple[str, str], ...]
    origin: str
    line_offset: int | None
    key: str = field(default="")
    reads: frozenset[str] | None = None

    def where(self, line: int | None, column: int | None = None) -> str:
        """``origin:line[:column]`` for a line of the script (the origin when unknown)."""
        if line is None:
            return self.origin
        if self.line_offset is None:
            return f"{self.origin} (embedded Rego line {line})"
        col = f":{column}" if column else ""
        return f"{self.origin}:{self.line_offset + line}{col}"


_PREPARED: dict[tuple[str, str, str, int | None], PreparedScript] = {}


def prepare(script: PolicyScript, policy: str) -> PreparedScript:
    """Check a script's source and add Chainloop's boilerplate; cached by content.

    Raises PolicyError at the first problem, naming the file and line.
    """
    cache_key = (policy, script.source, script.origin, script.line_offset)
    cached = _PREPARED.get(cache_key)
    if cached is not None:
        return cached
    issues = check_source(script.source)
    base = PreparedScript(policy, "", (), script.origin, script.line_offset)
    if issues:
        first = issues[0]
        raise PolicyError(
            f"{base.where(first.line, first.column)}: {first.message}",
            policy=policy,
            source=script.origin,
            line=None if script.line_offset is None else script.line_offset + first.line,
        )
    package = package_of(script.source) or ""
    modules = [("policy.rego", script.source)]
    extra = boilerplate(script.source)
    if extra is not None:
        modules.append(("boilerplate.rego", extra))
    digest = hashlib.sha256(json.dumps(modules).encode("utf-8")).hexdigest()
    prepared = PreparedScript(
        policy,
        package,
        tuple(modules),
        script.origin,
        script.line_offset,
        key=digest,
        reads=input_keys(text for _, text in modules),
    )
    if len(_PREPARED) > 512:
        _PREPARED.clear()
    _PREPARED[cache_key] = prepared
    return prepared


class RegoEngine:
    """Evaluates prepared scripts in a pool of up to ``workers`` processes, started on use.

    Thread-safe: evaluations from several threads run at once, up to ``workers``; each has
    the time limit ``timeout`` (seconds) and its worker the memory limit ``memory_mb`` (MiB
    of resident memory, 0: none). See :mod:`chainproof.policy.pool`. Use as a context
    manager or call :meth:`close`.
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        workers: int | None = None,
        memory_mb: int = DEFAULT_MEMORY_MB,
    ) -> None:
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._pool = WorkerPool(workers or default_workers())
        self._lock = threading.Lock()  # guards the projection cache
        self._projections: dict[tuple[bytes, frozenset[str]], str] = {}
        self.peak_bytes = 0
        """The largest resident size a worker was seen at (polled every 50 ms; Linux only)."""

    @property
    def workers(self) -> int:
        """How many evaluations may run at once."""
        return self._pool.size

    def __enter__(self) -> RegoEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start a worker process now, if none is idle, without waiting for it: its
        start-up (Python and regopy, ~0.1 s) then overlaps the caller reading the material.
        Does nothing when regopy is missing (the evaluation reports that)."""
        if _regopy_installed():
            self._pool.start_one()

    def close(self) -> None:
        """Stop the worker processes (a later evaluation starts new ones)."""
        self._pool.close()

    def evaluate(
        self,
        script: PreparedScript,
        material: Mapping[str, Any],
        args: Mapping[str, ArgValue] | None = None,
        *,
        material_json: str | None = None,
        timeout: float | None = None,
        allowed_hosts: Collection[str] = (),
    ) -> ScriptResult:
        """Evaluate ``script`` with ``input`` = ``material`` plus ``input.args``.

        ``allowed_hosts``: the host names ``http.send`` may reach (none: a policy calling it
        is refused, PolicyError); a call towards another host fails the evaluation
        (PolicyEvaluationError, ``reason="network"``), before any request is made.

        ``material_json`` may carry ``material`` already serialised (callers evaluating many
        scripts over one material serialise it once). Raises PolicyError for a Rego compile
        error (file and line) or a forbidden built-in, PolicyEvaluationError for a time-out,
        the memory limit, a run-time error, a missing ``result``/``violations`` rule or a
        malformed result.
        """
        text = material_json if material_json is not None else canonical(material)
        text = self._projection(script, material, text)
        base_key = hashlib.sha256(text.encode("utf-8")).hexdigest()
        request = {
            "key": script.key,
            "modules": [list(m) for m in script.modules],
            "package": script.package,
            "base_key": base_key,
            "args": dict(args or {}),
            "forbidden": sorted(n for n in FORBIDDEN if n != NETWORK or not allowed_hosts),
        }
        if allowed_hosts:
            request["http"] = {"allowed": sorted({h.lower() for h in allowed_hosts})}
        limit = self.timeout if timeout is None else timeout
        if not _regopy_installed():
            raise PolicyEvaluationError(
                "policies cannot be evaluated: the Rego interpreter (regopy) is not installed",
                hint=_REGOPY_HINT,
                reason="unavailable",
            )
        with self._pool.worker(prefer=base_key) as worker:
            answer = self._call(worker, request, text, script, limit)
            if answer.get("stage") == "input":  # the worker forgot the material: send it
                worker.bases.clear()
                answer = self._call(worker, request, text, script, limit)
        return _result(script, answer)

    def check(self, script: PreparedScript) -> None:
        """Compile ``script`` in a worker without evaluating it: PolicyError for a Rego error
        or a call of a forbidden built-in, as rego-cpp's compiled plan has it (what storing a
        policy checks, so that it does not fail every evaluation later). ``http.send`` is
        not refused here: the evaluation's allow-list decides."""
        request = {
            "key": script.key,
            "modules": [list(m) for m in script.modules],
            "package": script.package,
            "base_key": "",
            "args": {},
            "forbidden": sorted(n for n in FORBIDDEN if n != NETWORK),
            "compile_only": True,
        }
        if not _regopy_installed():
            return  # nothing to compile with; evaluation reports it
        with self._pool.worker() as worker:
            answer = self._call(worker, request, "", script, self.timeout)
        if not answer.get("ok"):
            _result(script, answer)  # raises the error, as evaluation would

    def _projection(self, script: PreparedScript, material: Mapping[str, Any], text: str) -> str:
        """``text``, or the JSON of only the top-level keys the script can read when that
        leaves something out (remembered for the scripts after it)."""
        reads = script.reads
        if reads is None or not isinstance(material, Mapping) or reads.issuperset(material):
            return text
        cache_key = (hashlib.sha256(text.encode("utf-8")).digest(), reads)
        with self._lock:
            projected = self._projections.get(cache_key)
        if projected is None:
            projected = canonical({k: v for k, v in material.items() if k in reads})
            with self._lock:
                self._projections[cache_key] = projected
                while len(self._projections) > _MAX_PROJECTIONS:
                    self._projections.pop(next(iter(self._projections)))
        return projected

    def _call(
        self,
        worker: Worker,
        request: dict[str, Any],
        text: str,
        script: PreparedScript,
        limit: float,
    ) -> dict[str, Any]:
        base_key = request["base_key"]
        send = {**request, "base": None if base_key in worker.bases else text}
        if request.get("compile_only"):
            send["base"] = None
        try:
            worker.send(send)
            try:
                answer = worker.receive(limit, self.memory_mb * 1024 * 1024)
            finally:
                self.peak_bytes = max(self.peak_bytes, worker.peak)
        except queue.Empty:
            worker.kill()
            raise PolicyEvaluationError(
                f"policy {script.policy} did not finish within {limit:g} s and was stopped",
                hint=f"{_LOOP_HINT}; raise the time limit only for inputs that need it",
                policy=script.policy,
                reason="timeout",
            ) from None
        except OverMemory:
            worker.kill()
            raise PolicyEvaluationError(
                f"policy {script.policy} exceeded the memory limit of {self.memory_mb} MB "
                "and was stopped",
                hint="a policy must not build large collections (numbers.range, comprehensions "
                "over products of its input); raise the limit only for inputs that need it",
                policy=script.policy,
                reason="memory",
            ) from None
        except OSError:
            answer = None
        if answer is None:
            worker.kill()
            raise PolicyEvaluationError(
                f"policy {script.policy}: the Rego interpreter stopped unexpectedly "
                "(out of memory?)",
                policy=script.policy,
                reason="crashed",
            )
        if send["base"] is not None:
            worker.bases.append(base_key)
            del worker.bases[:-2]  # the worker keeps the last two (MAX_INPUTS)
        return answer


_REGOPY_FOUND = False
_LOOP_HINT = "a policy must not loop over large products of its input"


def _regopy_installed() -> bool:
    """Whether the worker can import regopy (a positive answer is remembered)."""
    global _REGOPY_FOUND
    if not _REGOPY_FOUND:
        _REGOPY_FOUND = importlib.util.find_spec("regopy") is not None
    return _REGOPY_FOUND


def canonical(material: Mapping[str, Any]) -> str:
    """The JSON text a material is sent to the worker as (and hashed by)."""
    return json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _result(script: PreparedScript, answer: Mapping[str, Any]) -> ScriptResult:
    name = script.policy
    if not answer.get("ok"):
        message = str(answer.get("message") or "Rego error")
        if answer.get("stage") == "forbidden":  # the interpreter's own view of the modules
            builtin = str(answer.get("builtin"))
            raise PolicyError(
                f"{script.origin}: {FORBIDDEN.get(builtin, f'{builtin}() is not allowed')}",
                policy=name,
                source=script.origin,
            )
        if answer.get("stage") == "compile":
            module = answer.get("module")
            line, column = answer.get("line"), answer.get("column")
            if module == "policy.rego":
                where = script.where(line, column)
            else:
                where = f"{script.origin} (injected boilerplate)"
            raise PolicyError(
                f"{where}: {message}",
                policy=name,
                source=script.origin,
                line=None
                if script.line_offset is None or module != "policy.rego" or line is None
                else script.line_offset + line,
            )
        if answer.get("stage") == "http":
            refused = "is not allowed" in message  # else the request itself failed
            raise PolicyEvaluationError(
                f"policy {name}: {message}",
                hint="policies reach only allow-listed hosts: an organisation owner adds them "
                "with `chainproof org update --policy-allowed-hostnames`; `policy develop eval "
                "--allowed-hostnames` for local evaluation"
                if refused
                else "the request failed or its answer was refused; `raise_error: false` in "
                "the request gives the policy the error instead",
                policy=name,
                reason="network",
            )
        if answer.get("stage") == "steps":
            raise PolicyEvaluationError(
                f"policy {name} ran past the Rego interpreter's statement limit and was "
                f"stopped ({message})",
                hint=_LOOP_HINT,
                policy=name,
                reason="timeout",
            )
        raise PolicyEvaluationError(
            f"policy {name}: evaluation failed: {message}", policy=name, reason="error"
        )
    rule, value = answer.get("rule"), answer.get("value")
    if rule is None:
        raise PolicyEvaluationError(
            f"policy {name}: neither a `result` nor a `violations` rule is defined "
            f"(in package {script.package})",
            policy=name,
            reason="format",
        )
    if rule == "violations":  # Chainloop's older form: a list of strings
        return ScriptResult(violations=_violations(name, value, "violations"))
    if not isinstance(value, Mapping):
        raise _format(name, "result", "an object")
    skipped = value.get("skipped")
    reason = value.get("skip_reason")
    ignore = value.get("ignore")
    return ScriptResult(
        violations=_violations(name, value.get("violations"), "result.violations"),
        skipped=skipped if isinstance(skipped, bool) else False,
        skip_reason=reason if isinstance(reason, str) else "",
        ignore=ignore if isinstance(ignore, bool) else False,
    )


def _violations(name: str, value: Any, rule: str) -> tuple[Violation, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise _format(name, rule, "a list")
    out = []
    for item in value:
        if isinstance(item, Mapping) and isinstance(item.get("message"), str):
            item = item["message"]  # structured findings: their message is the violation
        if not isinstance(item, str):
            raise _format(name, rule, "a list of strings")
        out.append(Violation(subject=name, message=item))
    return tuple(out)


def _format(name: str, rule: str, expected: str) -> PolicyEvaluationError:
    return PolicyEvaluationError(
        f"policy {name}: `{rule}` must be {expected}", policy=name, reason="format"
    )


_DEFAULT: RegoEngine | None = None
_DEFAULT_LOCK = threading.Lock()


def default_engine() -> RegoEngine:
    """The process's shared engine (closed at exit)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = RegoEngine()
            atexit.register(_DEFAULT.close)
        return _DEFAULT
