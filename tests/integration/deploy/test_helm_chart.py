"""deploy/helm/chainproof rendered by a real `helm template` (helm 4, installed by
scripts/install-test-services.sh) and checked: every kind is there, the pods run the image's
`chainproof` with the API/worker split, and every Secret, port and label reference resolves.
No Kubernetes cluster is involved: the manifests are not applied here.
"""

from __future__ import annotations

from typing import Any

import yaml
from tests.deploy_files import CHART, S3_VALUES, by_kind, helm_run, render

DATA_DIR = "/var/lib/chainproof"


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(container)


def _secret_refs(container: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in container["env"]
        if "valueFrom" in e
    }


def _plain_env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


def test_s3_install_renders_every_part_with_consistent_references() -> None:
    docs = by_kind(render(S3_VALUES))
    assert sorted(docs) == [
        ("Deployment", "cp-chainproof-api"),
        ("Deployment", "cp-chainproof-worker"),
        ("Ingress", "cp-chainproof"),
        ("Job", "cp-chainproof-install"),
        ("Secret", "cp-chainproof"),
        ("Service", "cp-chainproof"),
    ]
    secret = docs["Secret", "cp-chainproof"]
    stored = secret["stringData"]
    assert stored == {
        "secret-key": S3_VALUES["serverKey.value"],
        "database-url": S3_VALUES["database.url"],
        "cas-secret": "s3-secret",
    }
    # Made before the install Job that reads it, and kept by `helm uninstall`.
    assert "pre-install" in secret["metadata"]["annotations"]["helm.sh/hook"]

    api = docs["Deployment", "cp-chainproof-api"]
    worker = docs["Deployment", "cp-chainproof-worker"]
    assert api["spec"]["replicas"] == 2 and worker["spec"]["replicas"] == 1
    api_c, worker_c = _container(api), _container(worker)
    assert api_c["args"][:4] == ["server", "start", "--data-dir", DATA_DIR]
    assert "--no-jobs" in api_c["args"]  # the jobs run in the worker only
    assert _flag(api_c, "--workers") == "1"  # the default: one API process per pod
    assert worker_c["args"] == ["server", "worker", "--data-dir", DATA_DIR]
    for deployment, container in ((api, api_c), (worker, worker_c)):
        assert container["image"] == "registry.example/chainproof:9.9.9"
        pod = deployment["spec"]["template"]
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert pod["spec"]["securityContext"]["runAsUser"] == 10001
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        # The selector picks this Deployment's own pods.
        labels = pod["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert _secret_refs(container) == {
            "CHAINPROOF_DATABASE_URL": ("cp-chainproof", "database-url")
        }
        env = _plain_env(container)
        assert env["CHAINPROOF_PUBLIC_URL"] == "http://chainproof.example.com"
        # The settings' defaults, stated so that the sizing in values.yaml is visible.
        assert env["CHAINPROOF_DATABASE_POOL_SIZE"] == "5"
        assert env["CHAINPROOF_DATABASE_MAX_OVERFLOW"] == "10"
        # The server key is the data dir's secret.key, from the Secret's secret-key.
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        key_mount = mounts[f"{DATA_DIR}/secret.key"]
        key_volume = volumes[key_mount["name"]]["secret"]
        assert key_volume["secretName"] == "cp-chainproof"
        assert key_volume["items"] == [{"key": "secret-key", "path": key_mount["subPath"]}]
        assert volumes[mounts[DATA_DIR]["name"]] == {"name": "data", "emptyDir": {}}
        # Writable: `--workers N` keeps the processes' shared metrics in the data dir.
        assert not mounts[DATA_DIR].get("readOnly")
    assert api_c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api_c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert worker["spec"]["strategy"] == {"type": "Recreate"}

    service = docs["Service", "cp-chainproof"]
    api_labels = api["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= api_labels.items()
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "api"
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] in {p["name"] for p in api_c["ports"]}
    rule = docs["Ingress", "cp-chainproof"]["spec"]["rules"][0]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert rule["host"] == "chainproof.example.com"
    assert backend == {"name": "cp-chainproof", "port": {"name": port["name"]}}

    job = docs["Job", "cp-chainproof-install"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install"
    job_c = job["spec"]["template"]["spec"]["containers"][0]
    assert job_c["command"][:2] == ["/bin/sh", "-c"]
    assert job_c["command"][2] == (CHART / "files" / "install.sh").read_text()
    assert _secret_refs(job_c) == {
        "CHAINPROOF_DATABASE_URL": ("cp-chainproof", "database-url"),
        "CHAINPROOF_SECRET_KEY": ("cp-chainproof", "secret-key"),
        "CHAINPROOF_CAS_SECRET_ACCESS_KEY": ("cp-chainproof", "cas-secret"),
    }
    env = _plain_env(job_c)
    assert env["CAS_PROVIDER"] == "s3" and env["CAS_S3_BUCKET"] == "evidence"
    assert env["CAS_S3_ENDPOINT"] == "https://s3.example"


def _flag(container: dict[str, Any], flag: str) -> str:
    args = container["args"]
    assert args.count(flag) == 1, args
    return str(args[args.index(flag) + 1])


def test_api_workers_and_pool_sizes_reach_the_containers() -> None:
    values = S3_VALUES | {
        "api.workers": "4",
        "database.poolSize": "3",
        "database.maxOverflow": "2",
    }
    # --set (not --set-string): numbers, as a values file gives them.
    sets = [a for k, v in values.items() for a in ("--set", f"{k}={v}")]
    out = helm_run("template", "cp", str(CHART), *sets)
    assert out.returncode == 0, out.stderr
    docs = by_kind([d for d in yaml.safe_load_all(out.stdout) if d])
    api_c = _container(docs["Deployment", "cp-chainproof-api"])
    worker_c = _container(docs["Deployment", "cp-chainproof-worker"])
    assert _flag(api_c, "--workers") == "4"
    # The API pods still leave the jobs to the one worker pod, which has no --workers.
    assert "--no-jobs" in api_c["args"]
    assert worker_c["args"] == ["server", "worker", "--data-dir", DATA_DIR]
    assert docs["Deployment", "cp-chainproof-worker"]["spec"]["replicas"] == 1
    for container in (api_c, worker_c):
        env = _plain_env(container)
        assert env["CHAINPROOF_DATABASE_POOL_SIZE"] == "3"
        assert env["CHAINPROOF_DATABASE_MAX_OVERFLOW"] == "2"


def test_api_workers_below_one_is_refused() -> None:
    for workers in ("0", "-2"):
        sets = [a for k, v in S3_VALUES.items() for a in ("--set-string", f"{k}={v}")]
        out = helm_run("template", "cp", str(CHART), *sets, "--set", f"api.workers={workers}")
        assert out.returncode != 0, out.stdout
        assert f"api.workers must be 1 or more, not {workers}" in out.stderr


def test_existing_secrets_oci_and_tls() -> None:
    docs = by_kind(
        render(
            {
                "serverKey.existingSecret": "cp-key",
                "database.existingSecret": "cp-db",
                "cas.existingSecret": "cp-registry",
                "cas.provider": "oci",
                "cas.oci.repository": "registry.example/acme/evidence",
                "cas.oci.username": "ci",
                "ingress.tlsSecretName": "cp-tls",
                "env.RUN_EXPIRY_SECONDS": "600",
            }
        )
    )
    assert not [name for kind, name in docs if kind == "Secret"]  # nothing of the chart's own
    api_c = _container(docs["Deployment", "cp-chainproof-api"])
    assert _secret_refs(api_c) == {"CHAINPROOF_DATABASE_URL": ("cp-db", "database-url")}
    env = _plain_env(api_c)
    assert env["CHAINPROOF_PUBLIC_URL"] == "https://chainproof.example.com"
    assert env["CHAINPROOF_RUN_EXPIRY_SECONDS"] == "600"
    pod = docs["Deployment", "cp-chainproof-api"]["spec"]["template"]["spec"]
    assert {v["name"]: v for v in pod["volumes"]}["server-key"]["secret"]["secretName"] == "cp-key"
    ingress = docs["Ingress", "cp-chainproof"]["spec"]
    assert ingress["tls"] == [{"hosts": ["chainproof.example.com"], "secretName": "cp-tls"}]
    job_c = docs["Job", "cp-chainproof-install"]["spec"]["template"]["spec"]["containers"][0]
    assert _secret_refs(job_c)["CHAINPROOF_CAS_PASSWORD"] == ("cp-registry", "cas-secret")
    assert _plain_env(job_c)["CAS_OCI_REPOSITORY"] == "registry.example/acme/evidence"


def test_missing_required_values_are_refused_by_name() -> None:
    for missing, message in (
        ("serverKey.value", "serverKey.existingSecret or serverKey.value is required"),
        ("database.url", "database.existingSecret or database.url is required"),
        ("cas.s3.bucket", "cas.s3.bucket is required"),
    ):
        values = {k: v for k, v in S3_VALUES.items() if k != missing}
        sets = [a for k, v in values.items() for a in ("--set-string", f"{k}={v}")]
        out = helm_run("template", "cp", str(CHART), *sets)
        assert out.returncode != 0 and message in out.stderr, (missing, out.stderr)


def test_helm_lint_strict_passes() -> None:
    sets = [a for k, v in S3_VALUES.items() for a in ("--set-string", f"{k}={v}")]
    out = helm_run("lint", "--strict", str(CHART), *sets)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 chart(s) failed" in out.stdout
