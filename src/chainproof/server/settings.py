"""The control plane's configuration: one typed object, read once (docs/contributing.md §7).

``Settings`` is a pydantic-settings model. Each setting comes from, first to last: keyword
overrides (command-line flags such as ``--database-url``), ``CHAINPROOF_<NAME>`` environment
variables, the data dir's ``config.toml`` (``<name> = value`` lines; ``server init`` writes
``database_url`` there), then the defaults (SQLite ``chainproof.db`` and ``secret.key`` in the
data dir, else each field's default). No other module reads ``os.environ``.

Every field carries a description: docs/configuration.md is generated from them
(``python -m chainproof.server.settings_doc``) and a unit test keeps the two in step.
"""

from __future__ import annotations

import json
import os
import secrets
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import timedelta
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings.sources.utils import parse_env_vars

from chainproof.core.drift import DriftSettings
from chainproof.errors import InvalidInput, NotFound
from chainproof.server.identity_provider import IdentityProvider

__all__ = [
    "CONFIG_FILE",
    "ENV_PREFIX",
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
ENV_PREFIX = "CHAINPROOF_"

# The environment the next Settings is read from (Settings.embedded(environ=...)); None: the
# process's. A context variable, so that concurrent constructions cannot see each other's.
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("chainproof_environ", default=None)


class Settings(BaseSettings):
    """Everything the control plane needs to start.

    A field's ``json_schema_extra`` may name its command-line ``flag`` and, where the default
    is computed from the data dir, a ``default_text`` for the reference.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", frozen=True, env_ignore_empty=True
    )

    data_dir: Path = Field(
        description="The data dir: config.toml, secret.key, the SQLite database and CAS blobs.",
        json_schema_extra={"flag": "--data-dir", "env": False},
    )
    database_url: str = Field(
        description="SQLAlchemy URL of the database, e.g. "
        "`postgresql://USER:PASSWORD@HOST:5432/NAME`. `server init` stores it in config.toml.",
        json_schema_extra={
            "flag": "--database-url",
            "default_text": "`sqlite:///<data dir>/chainproof.db`",
        },
    )
    public_url: str | None = Field(
        None,
        description="The URL clients reach the control plane at (behind a proxy); unset: "
        "`http://<host>:<port>`.",
    )
    host: str = Field(
        "127.0.0.1", description="Address to listen on.", json_schema_extra={"flag": "--host"}
    )
    port: int = Field(
        8000, description="TCP port to listen on.", json_schema_extra={"flag": "--port"}
    )
    workers: int = Field(
        1,
        ge=1,
        description="API processes `server start` runs on its one port (uvicorn's worker "
        "processes). Migrations and the periodic jobs run once, in the process that starts "
        'them; each worker has its own database pool (docs/deployment.md, "Sizing").',
        json_schema_extra={"flag": "--workers"},
    )
    database_pool_size: int = Field(
        5,
        ge=1,
        description="Database connections each process keeps open (SQLAlchemy `pool_size`).",
    )
    database_max_overflow: int = Field(
        10,
        ge=0,
        description="Connections a process may open beyond `database_pool_size` at busy times "
        "(SQLAlchemy `max_overflow`); a process uses at most the sum of the two.",
    )
    auto_migrate: bool = Field(
        True,
        description="Upgrade the database schema at `server start`. Turn off when several "
        "processes share a database and run `chainproof server migrate upgrade` once per "
        "release instead; `server start` then refuses a database behind the release (exit 3).",
    )
    run_expiry_seconds: int = Field(
        3600, description="A run not pushed this many seconds after `attestation init` expires."
    )
    ci_token_seconds: int = Field(
        3600,
        gt=0,
        description="Lifetime of the token a CI job gets for its OIDC ID token "
        "(docs/ci-identity.md).",
    )
    identity_providers: list[IdentityProvider] = Field(
        default_factory=list,
        description="OIDC providers people sign in with (`chainproof auth login`): a list of "
        "`{name, issuer, client_id, client_secret, allowed_email_domains}`; in config.toml "
        "`[[identity_providers]]` tables, in the environment a JSON list. Empty: nobody signs "
        "in, API tokens only (docs/identity.md).",
        json_schema_extra={"default_text": "none"},
    )
    session_seconds: int = Field(
        8 * 3600,
        gt=0,
        description="Lifetime of a person's sign-in session; `auth login` again when it ends "
        "(docs/identity.md).",
    )
    expiry_check_seconds: float = Field(
        30.0, description="How often the worker looks for runs to expire."
    )
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="The master key sealing CA, log and backend secrets. Given here, it is not "
        "written to the data dir.",
        json_schema_extra={"default_text": "the data dir's `secret.key` (`server init` makes it)"},
    )
    cas_root: Path | None = Field(
        None,
        description="Where the embedded filesystem CAS keeps blobs.",
        json_schema_extra={"default_text": "`<data dir>/cas`"},
    )
    cas_max_blob_size: int = Field(
        100 * 1000 * 1000,
        description="Largest blob, in bytes, the embedded filesystem CAS takes (100 MB, the "
        "configured backends' default; 0: no limit). An upload declaring more is refused (413) "
        "before its body is read. Configured backends carry their own `max_blob_size`.",
    )
    cas_url: str | None = Field(
        None,
        description="Base URL of a separate CAS process (`chainproof cas serve`), e.g. "
        "`https://cas.example/cas/v1`; unset: the CAS mounted in this process at `/cas/v1`.",
    )
    fs_backends_root: Path | None = Field(
        None,
        description="Directory that organisations' `fs` CAS backends must live in.",
        json_schema_extra={"default_text": "`<data dir>/cas-backends`"},
    )
    cas_allowed_endpoints: str = Field(
        "",
        description="Where organisations' oci/s3/azure-blob backends may point: comma-separated "
        "host patterns, host:port, networks. Empty: anywhere except the cloud metadata "
        "addresses.",
    )
    cas_validation_seconds: float = Field(
        300.0, description="How often the worker revalidates every CAS backend (0: never)."
    )
    max_body_bytes: int = Field(
        16 * 1024 * 1024,
        description="Largest request body under `/api/`, in bytes (blobs go to the CAS).",
    )
    vsa_repair_seconds: float = Field(
        60.0,
        description="How often the worker issues the VSA of verified runs that lack one (a "
        "crash between a push's answer and its VSA's follow-up, and no read since; 0: never).",
    )
    findings_check_seconds: float = Field(
        600.0,
        description="How often the worker re-evaluates every workflow's drift findings (0: "
        "never; runs still re-evaluate their own workflow as they change).",
    )
    discover_index_seconds: float = Field(
        10.0,
        description="How often the worker indexes newly pushed attestations for `discover` and "
        "`component search` (0: never; docs/discover.md).",
    )
    drift_cadence_factor: float = Field(
        3.0,
        description="A workflow is `stopped` after this many times its usual gap between runs "
        "(and no sooner than `drift_stopped_floor_seconds`).",
    )
    drift_stopped_floor_seconds: int = Field(
        86400, description="A workflow is never `stopped` before this many seconds without a run."
    )
    drift_failing_runs: int = Field(
        3, description="A workflow is `failing` when this many finished runs in a row failed."
    )
    integration_allowed_hosts: str = Field(
        "",
        description="Where integrations may connect (webhook, chat, SMTP, Dependency-Track, "
        "registry hosts): comma-separated host patterns, host:port, networks, as "
        "`cas_allowed_endpoints`. Empty: anywhere except the cloud metadata addresses "
        "(docs/integrations.md).",
    )
    delivery_poll_seconds: float = Field(
        1.0,
        description="How often the worker looks for integration deliveries that are due (0: "
        "the worker delivers nothing; docs/integrations.md).",
    )
    delivery_timeout_seconds: float = Field(
        10.0, gt=0, description="A receiver must answer one delivery within this many seconds."
    )
    delivery_max_attempts: int = Field(
        8, ge=1, description="A delivery is `failed` after this many attempts (redeliver resets)."
    )
    delivery_backoff_seconds: float = Field(
        5.0,
        gt=0,
        description="Wait before the first retry; doubled after each failed attempt, with "
        "jitter (50-100% of the delay).",
    )
    delivery_backoff_max_seconds: float = Field(
        3600.0, gt=0, description="The longest wait between two attempts of one delivery."
    )
    delivery_lease_seconds: float = Field(
        120.0,
        gt=0,
        description="A claimed delivery whose worker has not finished it this many seconds "
        "later (the worker died) is claimed again. Keep it above `delivery_timeout_seconds`.",
    )
    delivery_concurrency: int = Field(
        8, ge=1, description="Deliveries one worker process sends at the same time."
    )
    log_format: str = Field(
        "text",
        description="Logs on stderr: `text`, or `json` (one object per line with the request "
        "id; docs/operations.md).",
    )
    log_level: str = Field(
        "info", description="The lowest level logged: debug, info, warning or error."
    )
    metrics: str = Field(
        "on", description="`on`: serve Prometheus metrics at `/metrics`; `off`: no such route."
    )
    metrics_token: SecretStr = Field(
        SecretStr(""),
        description="When set, `/metrics` answers only `Authorization: Bearer <metrics_token>`.",
    )
    readyz_cas_backends: str = Field(
        "report",
        description="An organisation's CAS backend recorded invalid: `report` lists it in "
        "`/readyz` without failing it (one tenant's broken bucket cannot make every replica "
        "unready); `require` answers 503.",
    )
    http_header_timeout_seconds: float = Field(
        10.0,
        description="A client must send a request's line and headers within this many seconds "
        "of connecting (or of the previous response on a kept-alive connection), else it is "
        "disconnected.",
    )
    http_body_timeout_seconds: float = Field(
        30.0,
        description="A client sending a request body must send more of it within this many "
        "seconds each time the server waits for it, else 408 and the connection closes.",
    )
    http_keepalive_seconds: int = Field(
        5, description="An idle kept-alive connection is closed after this many seconds."
    )
    http_max_connections: int = Field(
        1000,
        description="Connections (or requests in progress) beyond this many are answered 503 "
        "(0: no limit); with `workers` above 1, each worker's own limit.",
    )
    tls_cert: Path | None = Field(
        None,
        description="PEM certificate (chain) to serve HTTPS with; needs `tls_key`.",
        json_schema_extra={"flag": "--tls-cert"},
    )
    tls_key: Path | None = Field(
        None,
        description="PEM private key of `tls_cert`.",
        json_schema_extra={"flag": "--tls-key"},
    )
    hsts_max_age_seconds: int = Field(
        31536000,
        description="`Strict-Transport-Security: max-age=...` on responses served over HTTPS "
        "(directly, via a trusted proxy's X-Forwarded-Proto, or when public_url is https); "
        "0: never sent.",
    )
    policy_workers: int = Field(
        0,
        description="Rego worker processes evaluating policies at push, at once (0: min(4, "
        "CPUs), at least 2); further evaluations wait for a free worker.",
    )
    policy_timeout_seconds: float = Field(
        10.0, description="Seconds one policy may run on one input before its worker is killed."
    )
    policy_memory_mb: int = Field(
        2048,
        description="Resident memory one Rego worker may use, in MiB, before it is killed and "
        "the policy fails (0: no limit).",
    )
    policy_max_input_bytes: int = Field(
        16 * 1024 * 1024,
        description="Largest material content the control plane evaluates policies on, in "
        "bytes; larger materials fail their policies without being read.",
    )
    count_sql: bool = Field(
        False,
        description="Count the SQL statements sent, as `chainproof_db_statements_total` in "
        "`/metrics` (a benchmarking aid: `benchmarks/bench_ingest.py` turns it on).",
    )

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
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Overrides, the environment, the data dir's config.toml, the data dir's defaults:
        the config file and defaults belong to the data dir given, so they are built here."""
        given = None
        if isinstance(init_settings, InitSettingsSource):
            given = init_settings.init_kwargs.get("data_dir")
        sources: list[PydanticBaseSettingsSource] = [init_settings, _Environment(settings_cls)]
        if given is not None:
            data = Path(given)
            sources += [_ConfigFile(settings_cls, data), _DataDirDefaults(settings_cls, data)]
        return tuple(sources)

    @classmethod
    def embedded(
        cls, data_dir: Path | str, *, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        """The embedded profile: SQLite and the filesystem CAS inside ``data_dir``.

        ``overrides`` (command-line flags; None: not given) beat ``environ`` (default: the
        process's), which beats the data dir's config.toml. A bad value is InvalidInput naming
        where it came from."""
        data = Path(data_dir).resolve()
        given = {k: v for k, v in overrides.items() if v is not None}
        env = os.environ if environ is None else environ
        token = _ENVIRON.set(env)
        try:
            return cls(data_dir=data, **given)
        except ValidationError as err:
            raise _invalid(err, given, env, data) from None
        finally:
            _ENVIRON.reset(token)

    @classmethod
    def of_data_dir(
        cls, data_dir: Path | str, *, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        """The embedded profile of a data dir ``server init`` made; NotFound if it is missing
        or was never initialised (so nothing starts on a fresh, empty database)."""
        data = Path(data_dir).resolve()
        require_initialised(data)
        return cls.embedded(data, environ=environ, **overrides)


def env_name(field: str) -> str:
    """The environment variable of setting ``field``."""
    return ENV_PREFIX + field.upper()


def field_extra(field: str) -> dict[str, Any]:
    """What a field says beyond its type and description: ``flag``, ``default_text``,
    ``env`` (False: not read from the environment or config.toml)."""
    found = Settings.model_fields.get(field)
    extra = found.json_schema_extra if found else None
    return dict(extra) if isinstance(extra, dict) else {}


def _reads_environment(field: str) -> bool:
    return field_extra(field).get("env") is not False


class _Environment(EnvSettingsSource):
    """``CHAINPROOF_<NAME>`` variables of the environment ``Settings.embedded`` was given."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        given = _ENVIRON.get()
        environ = os.environ if given is None else given
        return parse_env_vars(
            environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in super().__call__().items() if _reads_environment(k)}


class _ConfigFile(TomlConfigSettingsSource):
    """The data dir's config.toml, refused whole when it is not valid TOML or names a setting
    that does not exist."""

    def __init__(self, settings_cls: type[BaseSettings], data_dir: Path) -> None:
        super().__init__(settings_cls, toml_file=data_dir / CONFIG_FILE)

    def _read_file(self, file_path: Path | Traversable) -> dict[str, Any]:
        return _load_config(Path(str(file_path)))


class _DataDirDefaults(PydanticBaseSettingsSource):
    """Defaults that depend on the data dir: its SQLite database and its secret key file."""

    def __init__(self, settings_cls: type[BaseSettings], data_dir: Path) -> None:
        super().__init__(settings_cls)
        self.data_dir = data_dir

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {"database_url": f"sqlite:///{self.data_dir / 'chainproof.db'}"}
        key_file = self.data_dir / SECRET_FILE
        if key_file.is_file():
            values["secret_key"] = key_file.read_text().strip()
        return values


_SECRET_BEARING = frozenset({"identity_providers", "secret_key", "metrics_token"})


def _invalid(
    err: ValidationError, overrides: Mapping[str, Any], environ: Mapping[str, str], data: Path
) -> InvalidInput:
    """The first problem of ``err`` (an unknown setting before a bad value) as InvalidInput
    naming the setting's source."""
    problems = err.errors(include_url=False)
    problem = sorted(problems, key=lambda p: p["type"] != "extra_forbidden")[0]
    name = str(problem["loc"][0]) if problem["loc"] else "?"
    if problem["type"] == "extra_forbidden":
        return InvalidInput(f"unknown setting {name!r}")
    upper = {k.upper(): v for k, v in environ.items()}
    if name in overrides:
        origin, value = str(field_extra(name).get("flag") or f"setting {name}"), overrides[name]
    elif upper.get(env_name(name)):
        origin, value = f"environment variable {env_name(name)}", upper[env_name(name)]
    else:
        origin, value = f"{name} in {data / CONFIG_FILE}", problem.get("input")
    # Values that may hold a secret are not echoed (a provider's client_secret, the keys).
    shown = "" if name in _SECRET_BEARING else f" (got {value!r})"
    return InvalidInput(
        f"{origin} is not valid: {problem['msg']}{shown}",
        hint=f"fix {origin}; docs/configuration.md lists every setting",
    )


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
    return _load_config(path) if path.is_file() else {}


def _load_config(path: Path) -> dict[str, Any]:
    hint = f'fix {path}: one `name = value` line per setting (e.g. database_url = "...")'
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InvalidInput(f"{path} is not valid TOML: {err}", hint=hint) from None
    known = {name for name in Settings.model_fields if _reads_environment(name)}
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
        "# Every setting: docs/configuration.md.",
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
