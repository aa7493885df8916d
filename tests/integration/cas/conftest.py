"""Fixtures of the CAS backend tests: a fresh bucket, container or repository per test on the
session's servers (docker-registry, moto_server, Azurite: tests/conftest.py starts them)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import boto3
import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient
from tests.cas_servers import S3_KEY_ID, S3_SECRET

T = TypeVar("T")


@pytest.fixture
def closing() -> Iterator[Callable[[T], T]]:
    """``closing(backend)`` returns the backend and closes it at teardown: a backend left open
    leaks its sockets, whose ResourceWarning then fails whichever later test collects them."""
    with contextlib.ExitStack() as stack:
        yield lambda thing: stack.enter_context(contextlib.closing(thing))  # type: ignore[arg-type]


@pytest.fixture
def s3_raw(s3_endpoint: str) -> Iterator[Any]:
    """A plain boto3 client on the S3 stand-in, to look behind a backend's back."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
    )
    yield client
    client.close()


@pytest.fixture
def s3_bucket(s3_raw: Any) -> str:
    """A new, empty bucket."""
    name = f"cas-{uuid.uuid4().hex[:16]}"
    s3_raw.create_bucket(Bucket=name)
    return name


@pytest.fixture
def azure_service(azurite: str) -> Iterator[BlobServiceClient]:
    """A plain SDK client on Azurite, to look behind a backend's back."""
    client = BlobServiceClient.from_connection_string(azurite)
    yield client
    client.close()


@pytest.fixture
def azure_container(azure_service: BlobServiceClient) -> ContainerClient:
    """A new, empty container."""
    return azure_service.create_container(f"cas-{uuid.uuid4().hex[:16]}")


@pytest.fixture
def oci_repository(registry: str) -> str:
    """A repository of its own on the session's registry (``host:port/path``)."""
    return f"{registry}/chainproof/t{uuid.uuid4().hex[:12]}"
