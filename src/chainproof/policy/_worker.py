"""The Rego worker: a child process that owns the regopy interpreters (not a public API).

Run as a script (``python -I _worker.py``) by :mod:`chainproof.policy.engine`, with an empty
environment. It imports only the standard library and regopy, so it needs neither chainproof
nor the parent's environment, and a policy calling ``opa.runtime()`` would find nothing to
read. The parent kills it when an evaluation runs past its time limit: rego-cpp cannot be
interrupted from Python, and a killed process is the only hard stop. It kills it too past its
memory limit, watching its resident memory from outside (:mod:`chainproof.policy.pool`: rego-cpp's
allocator, snmalloc, reserves address space up front and aborts under RLIMIT_AS or
RLIMIT_DATA, so no limit can be set from in here).

Protocol, on stdin/stdout: each message is a 4-byte big-endian length and that many bytes of
JSON. A request::

    {"key": sha256 of the modules, "modules": [[name, text], ...], "package": "a.b",
     "base_key": sha256 of the material, "base": its JSON text or null (already sent),
     "args": {name: value}, "forbidden": [built-in name, ...], "compile_only": bool,
     "http": {"allowed": [host name, ...]} (optional)}

(``compile_only``: compile and check, answer ``{"ok": true, ...}`` without evaluating;
``http``: a policy that calls ``http.send`` may reach these hosts, see ``_worker_http.py``.)

and its answer, one per request::

    {"ok": true, "rule": "result" | "violations" | null, "value": <rule value> | null}
    {"ok": false, "stage": "compile" | "eval" | "input", "message": "...",
     "module": name | null, "line": n | null, "column": n | null}
    {"ok": false, "stage": "forbidden", "builtin": name, "message": "..."}
    {"ok": false, "stage": "steps", "message": "..."}   (rego-cpp's statement limit)
    {"ok": false, "stage": "http", "message": "..."}    (a host not allowed, a failed request)

A bundle whose compiled plan calls one of the ``forbidden`` built-ins is refused before it
runs: the check reads rego-cpp's own plan, so no spelling of the source hides a call from it.

The input is the material object with ``args`` added (Chainloop's ``input.args``). Compiled
bundles are cached by ``key`` (a policy compiles once per worker), the last few materials by
``base_key`` (parsed once), and their interpreter inputs by material and arguments (policies
with equal arguments share one). Anything
rego-cpp prints (its error reports) goes to a scratch file read after each call, never to
the protocol channel.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import re
import struct
import sys
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

MAX_BUNDLES = 64
MAX_INPUTS = 2
_ERROR_AT = re.compile(r"^-- (?P<module>.+?):(?P<line>\d+):(?P<column>\d+)\s*$", re.MULTILINE)
_ERRORSEQ_AT = re.compile(r"\(error \d+:(?P<module>[^|]*)\|(?P<offset>\d+)\|")
_ERRORMSG = re.compile(r"\(errormsg \d+:(?P<message>[^)\n]*)\)")
# NOTE: rego-cpp's regoInputString reads its argument as the body of a JSON string literal:
# a raw backslash or quote was unescaped ("C:\\temp" became a tab) or failed the evaluation
# ("invalid escape sequence"), so such strings are escaped first (the rest pass as they are).
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _http_module() -> Any:
    """``_worker_http.py`` beside this file (run as a script with ``-I``: not importable)."""
    spec = importlib.util.spec_from_file_location(
        "_worker_http", Path(__file__).with_name("_worker_http.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Failure(Exception):
    def __init__(self, stage: str, message: str, **where: Any) -> None:
        super().__init__(message)
        self.answer = {"ok": False, "stage": stage, "message": message, **where}


class Worker:
    def __init__(self, out: Any, capture: Any) -> None:
        import regopy
        from regopy import rego_shared

        self.regopy = regopy
        self.lib = rego_shared.rego
        self.shared = rego_shared
        self.out = out
        self.capture = capture
        self.libc = ctypes.CDLL(None)
        self.bundles: OrderedDict[str, tuple[Any, Any, dict[str, str]]] = OrderedDict()
        self.bases: OrderedDict[str, Any] = OrderedDict()
        self.inputs: OrderedDict[str, Any] = OrderedDict()
        self.called: dict[str, set[str]] = {}
        self._http: Any = None

    # -- rego-cpp's own reports ------------------------------------------------------------
    def _start_capture(self) -> None:
        self.capture.seek(0)
        self.capture.truncate()

    def _captured(self) -> str:
        self.libc.fflush(None)  # std::cout shares stdio's buffers (sync_with_stdio)
        self.capture.seek(0)
        return str(self.capture.read().decode("utf-8", "replace"))

    def _errors(self, out: Any) -> list[tuple[str, str]]:
        """(message, code) of each error in a failed output's node tree: its text form is
        often a bare ``<error>``."""
        shared, kinds = self.shared, self.shared.NodeKind
        seq = shared.rego_output_node(out)
        found = []
        for i in range(shared.rego_node_size(seq)):
            error = shared.rego_node_get(seq, i)
            parts = {}
            for j in range(shared.rego_node_size(error)):
                part = shared.rego_node_get(error, j)
                parts[shared.rego_node_type(part)] = shared.rego_node_value(part)
            found.append((parts.get(kinds.ErrorMessage, ""), parts.get(kinds.ErrorCode, "")))
        return found

    def _fail(self, stage: str, text: str, modules: dict[str, str], errors: Any = ()) -> _Failure:
        """The first error of a rego-cpp report, with its module and position if named."""
        if errors and errors[0][1] == "timeout_error":  # rego-cpp's own statement limit
            return _Failure("steps", errors[0][0] or "the statement limit was reached")
        report = self._captured()
        lines = [ln.strip() for ln in report.splitlines()]
        message = ""
        if "Errors:" in lines:
            after = lines[lines.index("Errors:") + 1 :]
            message = next((ln for ln in after if ln), "")
        where: dict[str, Any] = {"module": None, "line": None, "column": None}
        match = _ERROR_AT.search(report)
        if match and match.group("module") in modules:
            where = {
                "module": match.group("module"),
                "line": int(match.group("line")),
                "column": int(match.group("column")),
            }
        else:
            seq = _ERRORSEQ_AT.search(text)
            if seq and seq.group("module") in modules:
                offset = int(seq.group("offset"))
                before = (
                    modules[seq.group("module")].encode("utf-8")[:offset].decode("utf-8", "replace")
                )
                where = {
                    "module": seq.group("module"),
                    "line": before.count("\n") + 1,
                    "column": len(before) - (before.rfind("\n") + 1) + 1,
                }
        if not message and errors:
            message = errors[0][0]
        if not message:
            found = _ERRORMSG.search(text)
            message = found.group("message") if found else (text.strip() or "Rego error")
        return _Failure(stage, message, **where)

    # -- compile -----------------------------------------------------------------------------
    def bundle(
        self, key: str, modules: list[list[str]], package: str, forbidden: list[str]
    ) -> tuple[Any, Any]:
        cached = self.bundles.get(key)
        if cached is not None:
            self.bundles.move_to_end(key)
            # NOTE: checked on every call: what is forbidden depends on the request (http.send
            # on its allowed hosts), not on the bundle.
            self._refuse(self.called.get(key, set()), forbidden)
            return cached[0], cached[1]
        sources = {name: text for name, text in modules}
        interpreter = self.regopy.Interpreter()
        self._start_capture()
        try:
            for name, text in modules:
                interpreter.add_module(name, text)
            doc = package.replace(".", "/")
            built = interpreter.build(None, [f"{doc}/result", f"{doc}/violations"])
        except self.regopy.RegoError as err:
            raise self._fail("compile", str(err.args[0] if err.args else err), sources) from None
        if not built.ok():
            raise self._fail("compile", "", sources)
        called = self.builtins(built)
        self._refuse(called, forbidden)
        self.bundles[key] = (interpreter, built, sources)
        self.called[key] = called
        if len(self.bundles) > MAX_BUNDLES:
            old, _ = self.bundles.popitem(last=False)
            self.called.pop(old, None)
        return interpreter, built

    @staticmethod
    def _refuse(called: set[str], forbidden: list[str]) -> None:
        for name in forbidden:
            if name in called:
                raise _Failure("forbidden", f"{name}() is not allowed", builtin=name)

    def builtins(self, built: Any) -> set[str]:
        """The built-in functions a compiled bundle calls, as rego-cpp's plan lists them
        (``rego-policy > rego-static > rego-builtinfunctionseq``): what the interpreter will
        run, however the source spells or hides it."""
        shared, found = self.shared, set()

        def children(node: Any, kind: str) -> list[Any]:
            out = []
            for i in range(shared.rego_node_size(node)):
                child = shared.rego_node_get(node, i)
                if self._type_name(child) == kind:
                    out.append(child)
            return out

        for policy in children(shared.rego_bundle_node(built._impl), "rego-policy"):
            for static in children(policy, "rego-static"):
                for seq in children(static, "rego-builtinfunctionseq"):
                    for function in children(seq, "rego-builtinfunction"):
                        names = children(function, "rego-irstring")
                        if names:
                            found.add(self._value(names[0]))
        return found

    def _type_name(self, node: Any) -> str:
        # NOTE: regopy's rego_node_type_name sizes its buffer without the terminating NUL
        # and then fails; a fixed buffer is enough for a type name.
        buf = ctypes.create_string_buffer(256)
        self.lib.regoNodeTypeName(node, buf, 256)
        return buf.value.decode("utf-8", "replace")

    def _value(self, node: Any) -> str:
        size = int(self.lib.regoNodeValueSize(node)) + 1
        buf = ctypes.create_string_buffer(size)
        self.lib.regoNodeValue(node, buf, size)
        return buf.value.decode("utf-8", "replace")

    # -- input -------------------------------------------------------------------------------
    def input(self, request: dict[str, Any]) -> Any:
        base_key = request["base_key"]
        args = request.get("args") or {}
        key = base_key + json.dumps(args, sort_keys=True)
        handle = self.inputs.get(key)
        if handle is not None:
            return handle
        base = self.base(request)
        value = {**base, "args": args} if isinstance(base, dict) else base
        handle = self._build_input(value)
        self.inputs[key] = handle
        if len(self.inputs) > MAX_INPUTS * 4:
            _, old = self.inputs.popitem(last=False)
            self.lib.regoFreeInput(old)
        return handle

    def base(self, request: dict[str, Any]) -> Any:
        """The material the request names, parsed once (sent with the first request)."""
        base_key = request["base_key"]
        base = self.bases.get(base_key)
        if base is None:
            if request.get("base") is None:
                raise _Failure("input", "the input was not sent")
            base = json.loads(request["base"])
            self.bases[base_key] = base
            if len(self.bases) > MAX_INPUTS:
                self.bases.popitem(last=False)
        return base

    def _build_input(self, value: Any) -> Any:
        """regopy's ``Input`` without its per-node overhead: the same C calls, made directly.

        NOTE: regopy's ``rego_input_from_value`` copies every string through
        ``ctypes.create_string_buffer``; passing ``bytes`` to the ``c_char_p`` parameter is
        the same call at a third of the cost (2,000-component SBOM: ~0.3 s -> ~0.1 s).
        """
        lib = self.lib
        p = lib.regoNewInput()
        put_str, put_int, put_float = lib.regoInputString, lib.regoInputInt, lib.regoInputFloat
        put_bool, put_null, item = lib.regoInputBoolean, lib.regoInputNull, lib.regoInputObjectItem
        put_obj, put_arr = lib.regoInputObject, lib.regoInputArray
        i64 = 2**63
        escape = _NEEDS_ESCAPE

        def add(v: Any) -> int:
            if isinstance(v, str):
                if escape.search(v):
                    v = json.dumps(v.replace("\0", ""), ensure_ascii=False)[1:-1]
                return int(put_str(p, v.encode("utf-8")))
            if isinstance(v, dict):
                for k, sub in v.items():
                    if add(k) or add(sub) or item(p):
                        return 1
                return int(put_obj(p, len(v)))
            if isinstance(v, list):
                for sub in v:
                    if add(sub):
                        return 1
                return int(put_arr(p, len(v)))
            if v is True or v is False:
                return int(put_bool(p, v))
            if v is None:
                return int(put_null(p))
            if isinstance(v, int) and -i64 <= v < i64:
                return int(put_int(p, v))
            return int(put_float(p, float(v)))

        try:
            failed = add(value)
        except RecursionError:
            failed = 1
        if failed:
            lib.regoFreeInput(p)
            raise _Failure("input", "the input document cannot be given to the interpreter")
        return p

    # -- evaluate ----------------------------------------------------------------------------
    def evaluate(self, request: dict[str, Any]) -> dict[str, Any]:
        modules = request["modules"]
        sources = {name: text for name, text in modules}
        forbidden = list(request.get("forbidden") or ())
        interpreter, built = self.bundle(request["key"], modules, request["package"], forbidden)
        if request.get("compile_only"):
            return {"ok": True, "rule": None, "value": None}
        if request.get("http") and "http.send" in self.called.get(request["key"], ()):
            return self.evaluate_http(request, sources)
        handle = self.input(request)
        if self.lib.regoSetInput(interpreter._impl, handle) != 0:
            raise _Failure("input", "the interpreter refused the input")
        answer, _ = self.query(interpreter, built, request["package"], sources)
        return answer

    def query(
        self, interpreter: Any, built: Any, package: str, sources: dict[str, str]
    ) -> tuple[dict[str, Any], str]:
        """The first defined rule of ``result`` and ``violations``, and what was printed."""
        doc = package.replace(".", "/")
        printed = ""
        for rule in ("result", "violations"):
            self._start_capture()
            out = self.shared.rego_bundle_query_entrypoint(
                interpreter._impl, built._impl, f"{doc}/{rule}"
            )
            try:
                ok = bool(self.shared.rego_output_ok(out))
                text = self.shared.rego_output_string(out)
                errors = [] if ok else self._errors(out)
            finally:
                self.shared.rego_free_output(out)
            printed += self._captured()
            if not ok or text.lstrip().startswith("(error") or text.strip() == "<error>":
                failure = self._fail("eval", text, sources, errors)
                failure.printed = printed  # type: ignore[attr-defined]
                raise failure
            if text.strip() == "undefined":
                continue
            try:
                expressions = json.loads(text).get("expressions") or [None]
            except ValueError:
                # NOTE: rego-cpp 1.5 writes some strings unescaped (e.g. a concat() result
                # formatted by sprintf with other arguments); its answer is then not JSON.
                raise _Failure(
                    "eval",
                    "the interpreter's answer is not valid JSON (a known rego-cpp issue: "
                    "build messages with concat() rather than sprintf() of computed strings)",
                ) from None
            return {"ok": True, "rule": rule, "value": expressions[0]}, printed
        return {"ok": True, "rule": None, "value": None}, printed

    def evaluate_http(self, request: dict[str, Any], sources: dict[str, str]) -> dict[str, Any]:
        """Evaluate through the ``http.send`` shim, round after round, answering the
        requests of each round that the allow-list lets through (``_worker_http.py``)."""
        if self._http is None:
            self._http = _http_module()
        http = self._http
        allowed = set(request["http"].get("allowed") or ())
        package = request["package"]
        modules = [*request["modules"], ["chainproof_http_send.rego", http.shim(package)]]
        interpreter, built = self.bundle(request["key"] + ":http", modules, http.PACKAGE, [])
        base = self.base(request)
        args = request.get("args") or {}
        answered: list[list[Any]] = []
        for _ in range(http.MAX_ROUNDS):
            value = {**base, "args": args, "__chainproof_http": answered}
            handle = self._build_input(value if isinstance(base, dict) else base)
            try:
                if self.lib.regoSetInput(interpreter._impl, handle) != 0:
                    raise _Failure("input", "the interpreter refused the input")
                try:
                    answer, printed = self.query(interpreter, built, http.PACKAGE, sources)
                    failure = None
                except _Failure as err:  # an unanswered request may be why: answer, retry
                    answer, printed, failure = {}, getattr(err, "printed", ""), err
            finally:
                self.lib.regoFreeInput(handle)
            known = [pair[0] for pair in answered]
            asked = [r for r in http.requests_in(printed) if r not in known]
            if not asked:
                if failure is not None:
                    raise failure
                return answer
            if len(answered) + len(asked) > http.MAX_REQUESTS:
                raise _Failure("http", f"http.send: more than {http.MAX_REQUESTS} requests")
            for asked_request in asked:
                try:
                    answered.append([asked_request, http.fetch(asked_request, allowed)])
                except http.Refused as err:
                    raise _Failure("http", str(err)) from None
        raise _Failure("http", f"http.send: requests still asked after {http.MAX_ROUNDS} rounds")

    def serve(self, read: Any) -> None:
        while True:
            header = read(4)
            if len(header) < 4:
                return
            (size,) = struct.unpack(">I", header)
            request = json.loads(read(size))
            try:
                answer = self.evaluate(request)
            except _Failure as failure:
                answer = failure.answer
            except Exception as err:
                answer = {"ok": False, "stage": "eval", "message": f"internal error: {err!r}"}
            body = json.dumps(answer).encode("utf-8")
            self.out.write(struct.pack(">I", len(body)) + body)
            self.out.flush()


def main() -> None:
    out = os.fdopen(os.dup(1), "wb")
    capture = tempfile.TemporaryFile()
    os.dup2(capture.fileno(), 1)  # rego-cpp's reports land in the scratch file
    stdin = sys.stdin.buffer

    def read(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = stdin.read(n - len(data))
            if not chunk:
                return data
            data += chunk
        return data

    Worker(out, capture).serve(read)


if __name__ == "__main__":
    main()
