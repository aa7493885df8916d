"""The kinds that export a run's evidence, on SQLite and PostgreSQL: Dependency-Track (a
loopback receiver that checks Dependency-Track's documented request shape,
tests/receivers.py) and OCI export (Debian's docker-registry, read back with oras-py); the
operator's host allow-list; dashboard links in chat messages."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import oras.client
from sqlalchemy import select
from tests.integration.conftest import Env
from tests.integration.server import discover_steps, history
from tests.receivers import Receiver, smtp_receiver
from tests.registry import push_image

from chainproof.cas.oci import OciBackend
from chainproof.core.digest import Digest
from chainproof.oci.registry import Credentials
from chainproof.server.db import Attestation
from chainproof.server.db.base import utcnow
from chainproof.server.jobs.delivery import deliver_due
from chainproof.server.services.cas_endpoints import EndpointPolicy
from chainproof.server.services.delivery import RetryPolicy
from chainproof.server.services.integrations import HOSTS_KEY, HOSTS_SETTING

POLICY = RetryPolicy(timeout=5, max_attempts=3, backoff=1, backoff_max=2, lease=30)
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
SBOM = discover_steps.cdx(("pypi/requests", "requests", "2.32.0", "Apache-2.0"))


def _pass(env: Env, later: float = 0) -> int:
    now = utcnow() + timedelta(seconds=later)
    source = env.client.app.state.cas_source
    return deliver_due(env.sessions, POLICY, now=now, source=source)


def _add(env: Env, name: str, kind: str, config: dict[str, Any], secret: str | None) -> Any:
    body = {"kind": kind, "name": name, "config": config, "secret": secret}
    return env.post("/integrations", body)


def _deliveries(env: Env, name: str) -> list[dict[str, Any]]:
    reply = env.get(f"/integrations/{name}/deliveries")
    assert reply.status_code == 200, reply.text
    return list(reply.json())


def test_dependency_track_gets_each_cyclonedx_sbom_retried_until_it_answers(
    app_client: Env,
) -> None:
    env = app_client
    discover_steps.setup(env)
    receiver = Receiver(secret="dt-api-key")
    config = {"url": receiver.url, "project_name": "{org}-{project}"}
    assert _add(env, "dt", "dependency-track", config, receiver.secret).status_code == 201
    wrong = env.post("/integrations/dt/attach", {"project": "shop", "events": ["run.failed"]})
    assert wrong.status_code == 400 and "run.succeeded" in wrong.json()["hint"]
    assert env.post("/integrations/dt/attach", {"project": "shop"}).status_code == 200
    (attached,) = env.get("/integrations/dt").json()["attachments"]
    assert attached["events"] == ["run.blocked", "run.succeeded"]  # the kind's default

    image = discover_steps.image_digest("app")
    discover_steps.push(env, SBOM, image, version="1.2.0")
    history.run(env, "shop", "build", "failed")  # not an event the kind acts on
    receiver.status = 503
    with receiver.running():
        assert _pass(env) == 0
        (row,) = _deliveries(env, "dt")
        assert (row["status"], row["attempts"], row["last_status_code"]) == ("pending", 1, 503)
        receiver.status = 200
        assert _pass(env, later=60) == 1
        discover_steps.push(env, SBOM, image)  # no project version
        assert _pass(env) == 1
    name = f"{env.org['name']}-shop"
    assert receiver.boms == [(name, "1.2.0", SBOM), (name, "latest", SBOM)]
    assert receiver.refused == []
    assert {(d["status"], d["attempts"]) for d in _deliveries(env, "dt")} == {
        ("delivered", 2),
        ("delivered", 1),
    }


def test_dependency_track_refuses_a_wrong_key_and_the_attempt_is_recorded(
    app_client: Env,
) -> None:
    env = app_client
    discover_steps.setup(env)
    receiver = Receiver(secret="dt-api-key")
    assert _add(env, "dt", "dependency-track", {"url": receiver.url}, "not-it").status_code == 201
    assert env.post("/integrations/dt/attach", {"project": "shop"}).status_code == 200
    discover_steps.push(env, SBOM, discover_steps.image_digest("app"))
    with receiver.running():
        assert _pass(env) == 0
    (row,) = _deliveries(env, "dt")
    assert row["last_status_code"] == 400 and receiver.boms == []


def _image_run(env: Env, registry: str, tag: str = "1.0") -> tuple[str, str, str]:
    """An image pushed to the registry and a run that names it: (repository, digest, run)."""
    repository = f"{registry}/shop/app"
    image = push_image(registry, "shop/app", tag, layer=tag.encode())
    run = discover_steps.push(env, SBOM, image, repository=repository)
    return repository, image, run


def _bundle(env: Env, run_id: str) -> bytes:
    with env.sessions() as session:
        text = session.scalar(select(Attestation.bundle).where(Attestation.run_id == run_id))
    assert text is not None
    return text.encode()


def test_oci_export_pushes_the_bundle_beside_the_image_under_its_att_tag(
    app_client: Env, registry: str, tmp_path: Path
) -> None:
    env = app_client
    discover_steps.setup(env)
    config = {"registry": registry, "materials": "true"}
    assert _add(env, "oci", "oci-export", config, None).status_code == 201
    assert env.post("/integrations/oci/attach", {"project": "shop"}).status_code == 200
    repository, image, run = _image_run(env, registry, tag=f"t-{env.org['name']}")
    assert _pass(env) == 1

    tag = "sha256-" + image.removeprefix("sha256:") + ".att"
    oras_client = oras.client.OrasClient(hostname=registry, insecure=True)
    assert tag in oras_client.get_tags(repository)
    manifest = oras_client.get_manifest(f"{repository}:{tag}")
    assert manifest["artifactType"] == "application/vnd.chainproof.attestation.v1"
    assert manifest["subject"]["digest"] == image
    files = oras_client.pull(target=f"{repository}:{tag}", outdir=str(tmp_path))
    pulled = {Path(f).name: Path(f).read_bytes() for f in files}
    assert pulled == {f"{run}.sigstore.json": _bundle(env, run), f"{run}-sbom": SBOM}
    bundle_layer = manifest["layers"][0]
    assert bundle_layer["mediaType"] == json.loads(_bundle(env, run))["mediaType"]

    # A later run of the same image adds its bundle; a redelivery adds nothing twice.
    again = discover_steps.push(env, SBOM, image, repository=repository)
    assert _pass(env) == 1
    first = next(d for d in _deliveries(env, "oci") if d["subject"] == run)
    assert env.post(f"/deliveries/{first['id']}/redeliver").status_code == 200
    assert _pass(env) == 1
    layers = oras_client.get_manifest(f"{repository}:{tag}")["layers"]
    titles = [layer["annotations"]["org.opencontainers.image.title"] for layer in layers]
    assert titles == [f"{run}.sigstore.json", f"{run}-sbom", f"{again}.sigstore.json"]


def test_oci_export_skips_other_registries_and_fails_for_a_missing_image(
    app_client: Env, registry: str
) -> None:
    env = app_client
    discover_steps.setup(env)
    assert _add(env, "oci", "oci-export", {"registry": registry}, None).status_code == 201
    assert env.post("/integrations/oci/attach", {"project": "shop"}).status_code == 200
    discover_steps.push(env, SBOM, discover_steps.image_digest("elsewhere"))  # example.com
    missing = discover_steps.image_digest(f"never-pushed-{env.org['name']}")
    discover_steps.push(env, SBOM, missing, repository=f"{registry}/shop/app")
    assert _pass(env) == 1
    by_status = {d["status"]: d for d in _deliveries(env, "oci")}
    assert by_status.keys() == {"delivered", "pending"}
    assert "is not in its registry" in by_status["pending"]["last_error"]


def _push_image_with(registry: OciBackend, label: bytes) -> str:
    """A one-layer OCI image pushed with ``registry``'s credentials; its digest."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {}}).encode()
    descriptors = []
    for data, media_type in ((config, CONFIG_TYPE), (label, LAYER_TYPE)):
        digest = Digest.of_bytes(data)
        registry.upload(digest, [data], size=len(data))
        descriptors.append({"mediaType": media_type, "digest": str(digest), "size": len(data)})
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptors[0],
        "layers": descriptors[1:],
    }
    return str(registry.put_manifest("1.0", json.dumps(manifest).encode()))


def test_oci_export_signs_in_with_the_integrations_secret(
    app_client: Env, token_registry: tuple[str, Any]
) -> None:
    env = app_client
    host, _ = token_registry
    robot = Credentials("ci-robot", "s3cret-robot")
    repository = f"{host}/shop/{env.org['name']}"
    with OciBackend(repository, credentials=robot) as registry:
        image = _push_image_with(registry, env.org["name"].encode())
    discover_steps.setup(env)
    config = {"registry": host, "username": "ci-robot"}
    assert _add(env, "oci", "oci-export", config, "s3cret-robot").status_code == 201
    assert _add(env, "bad", "oci-export", config, "wrong").status_code == 201
    for name in ("oci", "bad"):
        assert env.post(f"/integrations/{name}/attach", {"project": "shop"}).status_code == 200
    run = discover_steps.push(env, SBOM, image, repository=repository)
    assert _pass(env) == 1
    (refused,) = _deliveries(env, "bad")
    assert refused["status"] == "pending" and "Unauthorized" in refused["last_error"]
    with OciBackend(repository, credentials=robot) as registry:
        found = registry.manifest("sha256-" + image.removeprefix("sha256:") + ".att")
    assert found is not None
    (layer,) = json.loads(found[1])["layers"]
    assert layer["annotations"]["org.opencontainers.image.title"] == f"{run}.sigstore.json"


def test_the_operators_host_list_limits_where_integrations_connect(app_client: Env) -> None:
    env = app_client
    history.workflow(env, "shop", "build", history.PLAIN)
    receiver = Receiver()
    info = env.sessions.kw.get("info", {})
    allowed = EndpointPolicy.parse("hooks.example.com, 10.0.0.0/8", HOSTS_SETTING)
    env.sessions.configure(info={**info, HOSTS_KEY: allowed})
    try:
        config = {"url": f"{receiver.url}/webhook"}
        refused = _add(env, "hook", "webhook", config, receiver.secret)
        assert refused.status_code == 403, refused.text
        assert HOSTS_SETTING in refused.json()["hint"]
        metadata = {"url": "http://169.254.169.254/"}  # refused whatever the list
        assert _add(env, "meta", "webhook", metadata, None).status_code == 403
        widened = EndpointPolicy.parse(f"{allowed.text}, 127.0.0.0/8", HOSTS_SETTING)
        env.sessions.configure(info={**info, HOSTS_KEY: widened})
        assert _add(env, "hook", "webhook", config, receiver.secret).status_code == 201
        assert env.post("/integrations/hook/attach", {"project": "shop"}).status_code == 200
        history.run(env, "shop", "build", "failed")
        env.sessions.configure(info={**info, HOSTS_KEY: allowed})  # the operator narrows it
        with receiver.running():
            assert _pass(env) == 0
        (row,) = _deliveries(env, "hook")
        assert "not allowed on this server" in row["last_error"] and not receiver.served
    finally:
        env.sessions.configure(info=info)


def test_chat_messages_and_emails_link_to_the_run_and_workflow_in_the_dashboard(
    app_client: Env,
) -> None:
    env = app_client
    history.workflow(env, "shop", "build", history.PLAIN)
    receiver = Receiver()
    with smtp_receiver() as (port, inbox), receiver.running():
        assert _add(env, "slack", "slack", {}, f"{receiver.url}/slack").status_code == 201
        mail = {"host": "127.0.0.1", "port": str(port), "starttls": "false"}
        mail |= {"sender": "chainproof@example.com", "to": "team@example.com"}
        assert _add(env, "mail", "email", mail, None).status_code == 201
        for name in ("slack", "mail"):
            assert env.post(f"/integrations/{name}/attach", {"project": "shop"}).status_code == 200
        started = history.init(env, "shop", "build")
        run_id, workflow_id = started["run"]["id"], started["workflow"]["id"]
        assert env.post(f"/runs/{run_id}/reset", {"trigger": "failure"}).status_code == 200
        assert _pass(env) == 2
    links = [
        f"run: http://testserver/runs/{run_id}",
        f"workflow: http://testserver/workflows/{workflow_id}",
    ]
    ((_, doc),) = receiver.chats
    assert doc["text"].splitlines()[1:] == links
    (message,) = inbox
    assert message.get_payload().splitlines()[1:3] == links
