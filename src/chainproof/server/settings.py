"""The control plane's configuration: one typed object, read once (docs/contributing.md §7).

Each setting comes from, first to last: keyword overrides (command-line flags such as
``--database-url``), ``CHAINPROOF_<NAME>`` environment variables, the data dir's
``config.toml`` (``<name> = value`` lines; ``server init`` writes ``database_url`` there), then
the profile's defaults (SQLite ``chainproof.db`` in the data dir). No other module reads
``os.environ``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from chainproof.core.drift import DriftSettings
from chainproof.errors import InvalidInput, NotFound

__all__ = [
    "CONFIG_FILE",
    "SECRET_FILE",
    "Settings",
    "is_initialised",
    "read_config",
    "require_initialised",
    "write_config",
    "write_secret_key",
]

SECRET_FILE = "secret.key"  # noqa: S105 - a file name, not a secret
CONFIG_FILE = "config.toml"
_PREFIX = "CHAINPROOF_"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the control plane needs to start."""

    data_dir: Path
    database_url: str
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    run_expiry_seconds: int = 3600
    expiry_check_seconds: float = 30.0
    secret_key: SecretStr = dataclasses.field(default_factory=lambda: SecretStr(""))
    cas_root: Path | None = None
    #: Largest blob the embedded filesystem CAS takes, in bytes (default 100 MB, the
    #: configured backends' default; 0: no limit). Configured backends carry their own
    #: ``max_blob_size``. An upload declaring more is refused (413) before its body is read.
    cas_max_blob_size: int = 100 * 1000 * 1000
    #: Base URL of a separate CAS process (``chainproof cas serve``), e.g.
    #: ``https://cas.example/cas/v1``; None: the CAS mounted in this process at ``/cas/v1``.
    cas_url: str | None = None
    #: Directory that ``fs`` CAS backends of organisations must live in.
    fs_backends_root: Path | None = None
    #: Where organisations' oci/s3/azure-blob backends may point: comma-separated host
    #: patterns, host:port, networks (services/cas_endpoints.py). Empty: anywhere except the
    #: cloud metadata addresses.
    cas_allowed_endpoints: str = ""
    #: How often the worker revalidates every CAS backend (0: never).
    cas_validation_seconds: float = 300.0
    max_body_bytes: int = 16 * 1024 * 1024
    #: How often the worker re-evaluates every workflow's drift findings (0: never; runs
    #: still re-evaluate their own workflow as they change).
    findings_check_seconds: float = 600.0
    #: A workflow is ``stopped`` after this many times its usual gap between runs...
    drift_cadence_factor: float = 3.0
    #: ...and never before this many seconds without a run.
    drift_stopped_floor_seconds: int = 86400
    #: A workflow is ``failing`` when this many finished runs in a row failed.
    drift_failing_runs: int = 3
    #: Logs on stderr: ``text`` or ``json`` (one object per line), from ``log_level`` up
    #: (debug, info, warning, error). docs/operations.md.
    log_format: str = "text"
    log_level: str = "info"
    #: ``on``: serve Prometheus metrics at ``/metrics``; ``off``: no such route.
    metrics: str = "on"
    #: When set, ``/metrics`` answers only ``Authorization: Bearer <metrics_token>``.
    metrics_token: SecretStr = dataclasses.field(default_factory=lambda: SecretStr(""))
    #: An organisation's CAS backend recorded ``invalid``: ``report`` (default) lists it in
    #: ``/readyz`` without failing it, so one tenant's broken bucket cannot make every replica
    #: unready; ``require`` answers 503 (telemetry/readiness.py).
    readyz_cas_backends: str = "report"

    #: A client must send a request's line and headers within this many seconds of connecting
    #: (or of the previous response on a kept-alive connection), else it is disconnected.
    http_header_timeout_seconds: float = 10.0
    #: A client sending a request body must send more of it within this many seconds each
    #: time the server waits for it, else the server answers 408 and closes the connection.
    http_body_timeout_seconds: float = 30.0
    #: An idle kept-alive connection is closed after this many seconds.
    http_keepalive_seconds: int = 5
    #: Connections (or requests in progress) beyond this many are answered 503 (0: no limit).
    http_max_connections: int = 1000
    #: PEM certificate (chain) and private key to serve HTTPS with (``server start
    #: --tls-cert/--tls-key``); both or neither.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: ``Strict-Transport-Security: max-age=...`` on responses served over HTTPS (directly, via
    #: a trusted proxy's X-Forwarded-Proto, or when public_url is https); 0: never sent.
    hsts_max_age_seconds: int = 31536000
    #: Rego worker processes evaluating policies at push, at once (0: min(4, CPUs), at
    #: least 2); further evaluations wait for a free worker (docs/policies.md, "Limits").
    policy_workers: int = 0
    #: Seconds one policy may run on one input before its worker is killed.
    policy_timeout_seconds: float = 10.0
    #: Resident memory one Rego worker may use, in MiB, before it is killed (0: no limit).
    policy_memory_mb: int = 2048
    #: Largest material content the control plane evaluates policies on, in bytes (16 MiB).
    policy_max_input_bytes: int = 16 * 1024 * 1024

    @property
    def drift(self) -> DriftSettings:
        """The drift rules' knobs (core/drift.py)."""
        if self.drift_failing_runs < 1 or self.drift_cadence_factor <= 0:
            raise InvalidInput(
                "drift_failing_runs must be at least 1 and drift_cadence_factor positive"
            )
        return DriftSettings(
            stopped_floor=timedelta(seconds=self.drift_stopped_floor_seconds),
            cadence_factor=self.drift_cadence_factor,
            failing_runs=self.drift_failing_runs,
        )

    @property
    def cas_path(self) -> Path:
        """Where the filesystem CAS keeps blobs."""
        return self.cas_root or self.data_dir / "cas"

    @property
    def fs_backends_path(self) -> Path:
        """The directory ``fs`` backends are confined to (default ``<data_dir>/cas-backends``)."""
        return self.fs_backends_root or self.data_dir / "cas-backends"

    @property
    def cas_base_url(self) -> str:
        """The CAS base URL handed out with CAS tokens."""
        return (self.cas_url or f"{self.base_url}/cas/v1").rstrip("/")

    @property
    def base_url(self) -> str:
        """The URL clients reach the control plane at."""
        scheme = "https" if self.tls_cert else "http"
        return (self.public_url or f"{scheme}://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def embedded(
        cls, data_dir: Path | str, *, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        """The embedded profile: SQLite and the filesystem CAS inside ``data_dir``."""
        env = os.environ if environ is None else environ
        data = Path(data_dir).resolve()
        values: dict[str, Any] = read_config(data)
        for f in dataclasses.fields(cls):
            raw = env.get(_PREFIX + f.name.upper())
            if raw is not None and f.name != "data_dir":
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        values.setdefault("database_url", f"sqlite:///{data / 'chainproof.db'}")
        if not values.get("secret_key"):
            key_file = data / SECRET_FILE
            values["secret_key"] = key_file.read_text().strip() if key_file.exists() else ""
        return cls(data_dir=data, **_cast(values))

    @classmethod
    def of_data_dir(
        cls, data_dir: Path | str, *, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        """The embedded profile of a data dir ``server init`` made; NotFound if it is missing
        or was never initialised (so nothing starts on a fresh, empty database)."""
        data = Path(data_dir).resolve()
        require_initialised(data)
        return cls.embedded(data, environ=environ, **overrides)


def _cast(values: dict[str, Any]) -> dict[str, Any]:
    types = {f.name: f.type for f in dataclasses.fields(Settings)}
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in types:
            raise InvalidInput(f"unknown setting {name!r}")
        kind = str(types[name])
        try:
            if "int" in kind and not isinstance(value, int):
                out[name] = int(value)
            elif "float" in kind and not isinstance(value, float):
                out[name] = float(value)
            elif "SecretStr" in kind and not isinstance(value, SecretStr):
                out[name] = SecretStr(str(value))
            elif "Path" in kind and value is not None and not isinstance(value, Path):
                out[name] = Path(value)
            else:
                out[name] = value
        except ValueError:
            raise InvalidInput(f"setting {name} is not a valid {kind}: {value!r}") from None
    return out


def write_secret_key(data_dir: Path, key: str) -> None:
    """Write ``<data_dir>/secret.key`` (mode 0600); FileExistsError if there is one."""
    fd = os.open(data_dir / SECRET_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")


def is_initialised(data_dir: Path) -> bool:
    """Whether ``server init`` made ``data_dir``: it has ``config.toml``, or (data dirs made
    before ``config.toml`` existed) ``secret.key``."""
    return (data_dir / CONFIG_FILE).is_file() or (data_dir / SECRET_FILE).is_file()


def require_initialised(data_dir: Path) -> None:
    """NotFound unless ``data_dir`` exists and ``server init`` made it."""
    init = f"chainproof server init --data-dir {data_dir}"
    if not data_dir.exists():
        raise NotFound(
            f"data dir {data_dir} does not exist",
            hint=f"create it with `{init}`, or pass the --data-dir that `server init` made",
        )
    if not data_dir.is_dir():
        raise InvalidInput(f"data dir {data_dir} is not a directory", hint="pass a directory")
    if not is_initialised(data_dir):
        raise NotFound(
            f"{data_dir} is not a chainproof data dir: it has no {CONFIG_FILE}",
            hint=f"initialise it with `{init}`, or pass the --data-dir that `server init` made",
        )


def read_config(data_dir: Path) -> dict[str, Any]:
    """The settings stored in ``<data_dir>/config.toml``; {} if there is no such file."""
    path = data_dir / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    hint = f'fix {path}: one `name = value` line per setting (e.g. database_url = "...")'
    try:
        values = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InvalidInput(f"{path} is not valid TOML: {err}", hint=hint) from None
    known = {f.name for f in dataclasses.fields(Settings)} - {"data_dir"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidInput(f"{path} names unknown settings: {', '.join(unknown)}", hint=hint)
    return values


def write_config(data_dir: Path, values: Mapping[str, str]) -> Path:
    """Write ``<data_dir>/config.toml`` atomically, readable by its owner only (it may hold a
    database password)."""
    lines = [
        "# chainproof server settings, written by `chainproof server init`.",
        "# Command-line flags and CHAINPROOF_<NAME> environment variables take precedence.",
    ]
    if "database_url" not in values:
        lines.append("# database_url unset: the SQLite database chainproof.db in this directory.")
    lines += [f"{name} = {_toml_string(value)}" for name, value in values.items()]
    path = data_dir / CONFIG_FILE
    tmp = data_dir / f".{CONFIG_FILE}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _toml_string(value: str) -> str:
    # A JSON string is a valid TOML basic string once DEL, which TOML wants escaped, is.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
