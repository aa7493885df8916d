"""CHAINPROOF_CAS_ALLOWED_ENDPOINTS: parsing, host and network matching, name resolution,
and the cloud metadata addresses that are refused unless named."""

from __future__ import annotations

import pytest

from chainproof.errors import Forbidden, InvalidInput
from chainproof.server.services.cas_endpoints import Endpoint, EndpointPolicy, endpoint_of

ACCT = "acct.blob.core.windows.net"
AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "BlobEndpoint=http://127.0.0.1:10010/devstoreaccount1;"
)


@pytest.mark.parametrize(
    ("provider", "config", "secret", "expected"),
    [
        ("oci", {"repository": "registry.example.com/acme/x"}, {}, ("registry.example.com", 443)),
        ("oci", {"repository": "127.0.0.1:5000/acme"}, {}, ("127.0.0.1", 5000)),
        ("oci", {"repository": "localhost/acme"}, {}, ("localhost", 80)),
        ("s3", {"bucket": "b"}, {}, ("s3.amazonaws.com", 443)),
        ("s3", {"bucket": "b", "region": "eu-west-1"}, {}, ("s3.eu-west-1.amazonaws.com", 443)),
        ("s3", {"bucket": "b", "endpoint": "http://[::1]:9000"}, {}, ("::1", 9000)),
        ("azure-blob", {"account_url": f"https://{ACCT}"}, {}, (ACCT, 443)),
        ("azure-blob", {}, {"connection_string": AZURITE}, ("127.0.0.1", 10010)),
        ("azure-blob", {}, {"connection_string": "AccountName=acct;AccountKey=k"}, (ACCT, 443)),
        (
            "azure-blob",
            {},
            {"connection_string": "UseDevelopmentStorage=true"},
            ("127.0.0.1", 10_000),
        ),
    ],
)
def test_endpoint_of_each_provider(
    provider: str, config: dict[str, str], secret: dict[str, str], expected: tuple[str, int]
) -> None:
    assert endpoint_of(provider, config, secret) == Endpoint(*expected)


def test_fs_and_inline_have_no_endpoint() -> None:
    assert endpoint_of("fs", {"path": "x"}, {}) is None
    assert endpoint_of("inline", {}, {}) is None


def test_default_allows_everything_but_metadata() -> None:
    policy = EndpointPolicy.parse("")
    assert not policy.restricted
    policy.check("oci", {"repository": "registry.example.com/x"}, {})
    policy.check("s3", {"bucket": "b", "endpoint": "http://10.1.2.3:9000"}, {})
    for endpoint in (
        "http://169.254.169.254/latest",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:169.254.169.254]/",
    ):
        with pytest.raises(Forbidden) as err:
            policy.check("s3", {"bucket": "b", "endpoint": endpoint}, {})
        assert "cloud metadata" in err.value.message
    # Not even through an allowed network: the address must be named itself.
    with pytest.raises(Forbidden):
        EndpointPolicy.parse("0.0.0.0/0").check_endpoint(Endpoint("169.254.169.254", 80))
    EndpointPolicy.parse("169.254.169.254").check_endpoint(Endpoint("169.254.169.254", 80))
    EndpointPolicy.parse("169.254.169.254/32").check_endpoint(Endpoint("169.254.169.254", 80))


def test_host_patterns_and_ports() -> None:
    policy = EndpointPolicy.parse("registry.example.com, *.s3.amazonaws.com, minio.internal:9000")
    policy.check_endpoint(Endpoint("REGISTRY.example.com", 443))
    policy.check_endpoint(Endpoint("bucket.s3.amazonaws.com", 443))
    policy.check_endpoint(Endpoint("minio.internal", 9000))
    for refused in (Endpoint("minio.internal", 9001), Endpoint("evil.example.com", 443)):
        with pytest.raises(Forbidden) as err:
            policy.check_endpoint(refused, "s3")
        assert f"endpoint {refused} is not allowed" in err.value.message
        assert "CHAINPROOF_CAS_ALLOWED_ENDPOINTS" in (err.value.hint or "")


def test_networks_resolve_host_names() -> None:
    # localhost resolves (here) to 127.0.0.1 only: every address must lie in a network.
    EndpointPolicy.parse("127.0.0.0/8, ::1/128").check_endpoint(Endpoint("localhost", 5000))
    with pytest.raises(Forbidden):
        EndpointPolicy.parse("10.0.0.0/8").check_endpoint(Endpoint("localhost", 5000))
    with pytest.raises(Forbidden) as err:
        EndpointPolicy.parse("10.0.0.0/8").check_endpoint(Endpoint("no-such-host.invalid", 443))
    assert "does not resolve" in err.value.message
    EndpointPolicy.parse("2001:db8::/32").check_endpoint(Endpoint("2001:db8::5", 443))


@pytest.mark.parametrize("bad", ["registry/x", "host:99999", "a b", "10.0.0.0/33"])
def test_malformed_entries_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        EndpointPolicy.parse(f"ok.example.com, {bad}")
    assert "CHAINPROOF_CAS_ALLOWED_ENDPOINTS" in err.value.message
