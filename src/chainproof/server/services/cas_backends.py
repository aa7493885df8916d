"""CAS backends of an organisation: managed by admins, sealed credentials, health, selection.

Rules (docs/api.md, CAS backends):

- Only owners and admins (user tokens) see or change backends. Credentials (``secret``) are
  sealed with AES-256-GCM under the server's master key (support/sealed.py), bound to the
  backend's id, and never leave the server: no view, message or audit event holds them.
- At most one **default** and one **fallback** per organisation. Uploads go to the default;
  while the default's last validation failed (status ``invalid``) they go to the fallback,
  when there is one that is not invalid itself. An organisation without a default uses the
  server's embedded filesystem store (token claim ``embedded``), as before backends existed.
- A backend is validated (a probe blob written, read back and deleted) when it is added and
  when its settings or credentials change, unless the caller skips it; a periodic job
  (jobs/cas_validation.py) revalidates every backend and records the status.
- A backend that holds blobs cannot be deleted: runs reference their evidence by it.
- An ``inline`` backend stores nothing: while it is the upload target, ``attestation add``
  embeds files (up to its ``max_blob_size``, default 500 KB) in the attestation; it always
  validates ``ok``. Without any default backend chainproof uses the embedded store, not inline.
- ``oci``, ``s3`` and ``azure-blob`` endpoints must be allowed by the server's
  ``CHAINPROOF_CAS_ALLOWED_ENDPOINTS`` (services/cas_endpoints.py): checked at add, update
  and every validation.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chainproof.cas import providers
from chainproof.cas.backend import Backend
from chainproof.cas.tokens import EMBEDDED
from chainproof.errors import ChainproofError, Conflict, InvalidInput, NotFound
from chainproof.server.db import CasBackend, CasBlob
from chainproof.server.db.base import new_id, utcnow
from chainproof.server.services import audit
from chainproof.server.services.cas_endpoints import EndpointPolicy
from chainproof.server.services.orgs import check_name
from chainproof.server.support import sealed
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

log = logging.getLogger(__name__)

DEFAULT_MAX_BLOB_SIZE = providers.DEFAULT_MAX_BLOB_SIZE
MAX_BLOB_SIZE_CEILING = 5 * 1000**4  # 5 TB: S3's largest object
_PURPOSE = b"chainproof cas backend secret v1"
_MESSAGE_LIMIT = 1000


@dataclass(frozen=True)
class BackendFactory:
    """Builds Backend objects from rows: holds the master key, the ``fs`` root and the
    endpoints backends may reach."""

    master_key: str
    fs_root: Path
    endpoints: EndpointPolicy = field(default_factory=EndpointPolicy)

    def __repr__(self) -> str:
        return f"BackendFactory(fs_root={str(self.fs_root)!r}, master_key=***)"

    def seal(self, backend_id: str, secret: Mapping[str, str]) -> bytes | None:
        """The sealed credentials of a backend (None when it has none)."""
        if not secret:
            return None
        plain = json.dumps(dict(secret), sort_keys=True).encode()
        return sealed.seal(self.master_key, _PURPOSE, plain, backend_id)

    def secret_of(self, row: CasBackend) -> dict[str, str]:
        """The backend's credentials, unsealed (server side only)."""
        if row.secret is None:
            return {}
        plain = sealed.unseal(
            self.master_key, _PURPOSE, row.secret, row.id, f"credentials of {row.name}"
        )
        data = json.loads(plain)
        return {str(k): str(v) for k, v in data.items()}

    def fs_path(self, path: str) -> Path:
        """Where an ``fs`` backend's ``path`` points; InvalidInput outside :attr:`fs_root`."""
        root = self.fs_root.resolve()
        target = (root / path).resolve()
        if target != root and root not in target.parents:
            raise InvalidInput(
                f"an fs backend must live inside the server's fs backend root ({root})",
                hint="give a path relative to it, or ask the operator to set "
                "CHAINPROOF_FS_BACKENDS_ROOT",
            )
        return target

    def build(self, row: CasBackend, *, quick: bool = False) -> Backend:
        """The Backend a row describes; InvalidInput when it cannot be constructed."""
        secret = self.secret_of(row)
        return self._build(row.provider, row.config or {}, secret, row.max_blob_size, quick)

    def _build(
        self,
        provider: str,
        config: Mapping[str, str],
        secret: Mapping[str, str],
        max_blob_size: int,
        quick: bool,
    ) -> Backend:
        fs_path = self.fs_path(config["path"]) if provider == "fs" and "path" in config else None
        try:
            return providers.build_backend(
                provider,
                config,
                secret,
                max_blob_size=max_blob_size,
                fs_path=fs_path,
                quick=quick,
            )
        except ChainproofError as err:
            raise InvalidInput(scrub(err.message, secret), hint=err.hint) from None
        except OSError as err:
            raise InvalidInput(
                f"{providers.describe(provider, config)} cannot be opened: "
                f"{err.strerror or type(err).__name__}"
            ) from None
        except Exception as err:  # third-party constructors: never echo their text
            raise InvalidInput(
                f"{providers.describe(provider, config)} settings are invalid "
                f"({type(err).__name__})"
            ) from None

    def probe(self, row: CasBackend) -> tuple[str, str | None]:
        """``("ok", None)`` or ``("invalid", why)``: write, read, delete a probe blob."""
        secret = self.secret_of(row)
        return self._probe(row.provider, row.config or {}, secret, row.max_blob_size)

    def _probe(
        self,
        provider: str,
        config: Mapping[str, str],
        secret: Mapping[str, str],
        max_blob_size: int,
    ) -> tuple[str, str | None]:
        if provider == "inline":
            return "ok", None  # nothing to reach: the bytes travel in the attestation
        backend: Backend | None = None
        try:
            self.endpoints.check(provider, config, secret)
            backend = self._build(provider, config, secret, max_blob_size, quick=True)
            validate = getattr(backend, "validate", None)
            if validate is None:
                from chainproof.cas._stream import probe

                probe(backend, providers.describe(provider, config))
            else:
                validate()
        except ChainproofError as err:
            return "invalid", scrub(err.message, secret)[:_MESSAGE_LIMIT]
        except Exception as err:
            # No traceback: a third-party message could quote a credential.
            log.warning("CAS backend probe failed with %s", type(err).__name__)
            return "invalid", f"the probe failed ({type(err).__name__})"
        finally:
            if backend is not None:
                backend.close()
        return "ok", None


def scrub(message: str, secret: Mapping[str, str]) -> str:
    """``message`` with every credential value replaced by ``***`` (defence in depth)."""
    for value in secret.values():
        if len(value) >= 4:
            message = message.replace(value, "***")
    return message


# -- views -----------------------------------------------------------------------------------
def view(row: CasBackend) -> dict[str, Any]:
    """Backend JSON per docs/api.md: settings and health, never credentials."""
    return {
        "id": row.id,
        "name": row.name,
        "provider": row.provider,
        "config": dict(row.config or {}),
        "has_secret": row.secret is not None,
        "default": row.is_default,
        "fallback": row.is_fallback,
        "max_blob_size": row.max_blob_size,
        "status": row.status,
        "status_message": row.status_message,
        "validated_at": rfc3339(row.validated_at),
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
    }


#: Providers whose CAS backend takes a blob's bytes before its digest (``POST /uploads``, a
#: StreamingBackend): S3 and Azure Blob name objects by digest from the first byte.
STREAMING_PROVIDERS = frozenset({"fs", "oci"})


def target_view(row: CasBackend | None, embedded_max: int | None) -> dict[str, Any]:
    """``{"name","provider","max_blob_size","streams"}`` of an upload/download target."""
    if row is None:
        return {"name": EMBEDDED, "provider": "fs", "max_blob_size": embedded_max, "streams": True}
    return {
        "name": row.name,
        "provider": row.provider,
        "max_blob_size": row.max_blob_size,
        "streams": row.provider in STREAMING_PROVIDERS,
    }


# -- queries ---------------------------------------------------------------------------------
def list_backends(session: Session, actor: Principal) -> list[CasBackend]:
    """Every backend of the organisation, by name (owner/admin)."""
    actor.require_admin()
    return list(
        session.scalars(
            select(CasBackend).where(CasBackend.org_id == actor.org_id).order_by(CasBackend.name)
        )
    )


def get(session: Session, actor: Principal, name: str) -> CasBackend:
    """One backend by name (owner/admin); NotFound otherwise."""
    actor.require_admin()
    return _get(session, actor.org_id, name)


def _get(session: Session, org_id: str, name: str) -> CasBackend:
    row = session.scalar(
        select(CasBackend).where(CasBackend.org_id == org_id, CasBackend.name == name)
    )
    if row is None:
        raise NotFound(
            f"CAS backend {name!r} not found", hint="list them with `chainproof cas-backend list`"
        )
    return row


def upload_target(session: Session, org_id: str) -> CasBackend | None:
    """Where the organisation's uploads go now; None means the embedded store.

    The default, unless its status is ``invalid`` and a fallback that is not invalid exists.
    """
    rows = session.scalars(
        select(CasBackend).where(
            CasBackend.org_id == org_id,
            CasBackend.is_default.is_(True) | CasBackend.is_fallback.is_(True),
        )
    ).all()
    default = next((r for r in rows if r.is_default), None)
    fallback = next((r for r in rows if r.is_fallback), None)
    if default is None:
        return None
    if default.status == "invalid" and fallback is not None and fallback.status != "invalid":
        return fallback
    return default


def holder_of(session: Session, org_id: str, digest: str) -> CasBackend | None:
    """The backend holding the organisation's blob ``digest``; None: the embedded store."""
    backend_id = session.scalar(
        select(CasBlob.backend_id).where(CasBlob.org_id == org_id, CasBlob.digest == digest)
    )
    return session.get(CasBackend, backend_id) if backend_id else None


def by_claim(session: Session, org_id: str, claim: str) -> CasBackend | None:
    """The backend a CAS token's ``backend`` claim names (None: embedded); NotFound if gone."""
    if claim == EMBEDDED:
        return None
    row = session.get(CasBackend, claim)
    if row is None or row.org_id != org_id:
        raise NotFound("the CAS backend of this token no longer exists")
    return row


# -- changes ---------------------------------------------------------------------------------
def _check_size(size: int | None, provider: str) -> int:
    inline = provider == "inline"
    if size is None:
        return providers.INLINE_DEFAULT_MAX if inline else DEFAULT_MAX_BLOB_SIZE
    ceiling = providers.INLINE_MAX_CEILING if inline else MAX_BLOB_SIZE_CEILING
    if not 1 <= size <= ceiling:
        why = " for an inline backend (its documents travel in the attestation)" if inline else ""
        raise InvalidInput(
            f"max_blob_size must be between 1 byte and {ceiling} bytes{why}, not {size}"
        )
    return size


def _check_settings(
    factory: BackendFactory, provider: str, config: Mapping[str, Any], secret: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    clean_config, clean_secret = providers.check_settings(provider, config, secret)
    if provider == "fs":
        factory.fs_path(clean_config["path"])
    factory.endpoints.check(provider, clean_config, clean_secret)
    return clean_config, clean_secret


def _take_role(session: Session, row: CasBackend, role: str) -> None:
    """Make ``row`` the organisation's default or fallback, taking it from any other."""
    column = CasBackend.is_default if role == "default" else CasBackend.is_fallback
    session.execute(
        update(CasBackend)
        .where(CasBackend.org_id == row.org_id, CasBackend.id != row.id, column.is_(True))
        .values({column.key: False})
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    if role == "default":
        row.is_default, row.is_fallback = True, False
    else:
        row.is_default, row.is_fallback = False, True
    _flush(session, f"the {role} CAS backend changed at the same time")


def _flush(session: Session, clash: str) -> None:
    """Flush; a unique index clash (a concurrent admin) becomes Conflict."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(clash, hint="retry the command") from None


def _validated(
    factory: BackendFactory,
    row: CasBackend,
    config: Mapping[str, str],
    secret: Mapping[str, str],
    now: datetime,
) -> None:
    """Probe the settings about to be stored; InvalidInput (nothing stored) if they fail."""
    status, message = factory._probe(row.provider, config, secret, row.max_blob_size)
    if status != "ok":
        raise InvalidInput(
            f"CAS backend {row.name!r} failed validation: {message}",
            hint="check its settings and credentials; --no-validate stores it unchecked",
        )
    row.status, row.status_message, row.validated_at = "ok", None, now


def create(
    session: Session,
    actor: Principal,
    factory: BackendFactory,
    *,
    name: str,
    provider: str,
    config: Mapping[str, Any] | None = None,
    secret: Mapping[str, Any] | None = None,
    default: bool = False,
    fallback: bool = False,
    max_blob_size: int | None = None,
    validate: bool = True,
    now: datetime | None = None,
) -> CasBackend:
    """Add a backend (owner/admin), validated first unless ``validate`` is False."""
    actor.require_admin()
    check_name("CAS backend", name)
    if name == EMBEDDED:
        raise InvalidInput(f"{EMBEDDED!r} names the server's own store", hint="pick another name")
    if default and fallback:
        raise InvalidInput("a backend is the default or the fallback, not both")
    if session.scalar(
        select(CasBackend.id).where(CasBackend.org_id == actor.org_id, CasBackend.name == name)
    ):
        raise Conflict(f"CAS backend {name!r} already exists", hint="change it with update")
    clean_config, clean_secret = _check_settings(factory, provider, config or {}, secret or {})
    now = now or utcnow()
    row = CasBackend(
        id=new_id(),
        org_id=actor.org_id,
        name=name,
        provider=provider,
        config=clean_config,
        is_default=False,
        is_fallback=False,
        max_blob_size=_check_size(max_blob_size, provider),
        status="unknown",
        created_at=now,
        updated_at=now,
    )
    row.secret = factory.seal(row.id, clean_secret)
    if validate:
        _validated(factory, row, clean_config, clean_secret, now)
    session.add(row)
    _flush(session, f"CAS backend {name!r} was created at the same time")
    if default or fallback:
        _take_role(session, row, "default" if default else "fallback")
    audit.record(
        session,
        actor.org_id,
        actor,
        "cas_backend.create",
        name,
        provider=provider,
        default=row.is_default,
        fallback=row.is_fallback,
        status=row.status,
    )
    return row


def update_backend(
    session: Session,
    actor: Principal,
    factory: BackendFactory,
    name: str,
    *,
    config: Mapping[str, Any] | None = None,
    secret: Mapping[str, Any] | None = None,
    default: bool | None = None,
    fallback: bool | None = None,
    max_blob_size: int | None = None,
    validate: bool = True,
    now: datetime | None = None,
) -> CasBackend:
    """Change settings, rotate credentials, move the default/fallback role (owner/admin).

    ``config`` and ``secret`` are merged into the stored ones (None removes a field). New
    settings or credentials are validated before they replace the old ones, unless
    ``validate`` is False (then the status becomes ``unknown``).
    """
    actor.require_admin()
    row = _get(session, actor.org_id, name)
    now = now or utcnow()
    if default and fallback:
        raise InvalidInput("a backend is the default or the fallback, not both")
    changed: list[str] = []
    if max_blob_size is not None and max_blob_size != row.max_blob_size:
        row.max_blob_size = _check_size(max_blob_size, row.provider)
        changed.append("max_blob_size")
    if config or secret:
        merged_config = {**(row.config or {}), **dict(config or {})}
        merged_secret = {**factory.secret_of(row), **dict(secret or {})}
        clean_config, clean_secret = _check_settings(
            factory, row.provider, merged_config, merged_secret
        )
        if validate:
            _validated(factory, row, clean_config, clean_secret, now)
        else:
            row.status, row.status_message, row.validated_at = "unknown", None, None
        row.config = clean_config
        row.secret = factory.seal(row.id, clean_secret)
        changed += [f"config.{k}" for k in sorted((config or {}).keys())]
        if secret:
            changed.append("secret")  # names only: never the values
    if changed:
        row.updated_at = now
    session.flush()
    for role, wanted in (("default", default), ("fallback", fallback)):
        current = row.is_default if role == "default" else row.is_fallback
        if wanted is None or wanted == current:
            continue
        if wanted:
            _take_role(session, row, role)
        elif role == "default":
            row.is_default = False
        else:
            row.is_fallback = False
        changed.append(role)
    session.flush()
    audit.record(
        session,
        actor.org_id,
        actor,
        "cas_backend.update",
        name,
        changed=changed,
        default=row.is_default,
        fallback=row.is_fallback,
    )
    return row


def delete(session: Session, actor: Principal, name: str) -> None:
    """Remove a backend that holds no blobs (owner/admin); Conflict otherwise."""
    actor.require_admin()
    row = _get(session, actor.org_id, name)
    held = session.scalar(select(CasBlob.id).where(CasBlob.backend_id == row.id).limit(1))
    if held is not None:
        raise Conflict(
            f"CAS backend {name!r} holds evidence that runs reference",
            hint="it cannot be deleted; make another backend the default instead",
        )
    session.delete(row)
    session.flush()
    audit.record(session, actor.org_id, actor, "cas_backend.delete", name)


def validate(
    session: Session,
    actor: Principal,
    factory: BackendFactory,
    name: str,
    now: datetime | None = None,
) -> CasBackend:
    """Probe a backend now and record its status (owner/admin); the row, status included."""
    actor.require_admin()
    row = _get(session, actor.org_id, name)
    status, message = factory.probe(row)
    record_status(session, row, status, message, now)
    audit.record(session, actor.org_id, actor, "cas_backend.validate", name, status=status)
    return row


def record_status(
    session: Session,
    row: CasBackend,
    status: str,
    message: str | None,
    now: datetime | None = None,
) -> bool:
    """Store a validation result; True when the status changed (audited then)."""
    changed = row.status != status
    row.status = status
    row.status_message = message
    row.validated_at = now or utcnow()
    session.flush()
    if changed:
        audit.record(session, row.org_id, None, "cas_backend.status", row.name, status=status)
    return changed
