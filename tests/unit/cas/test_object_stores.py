"""S3 and Azure Blob backends before any request: configuration checks, and no secret in a repr.

What they do against a service (moto, Azurite) is tested in tests/integration/cas.
"""

from __future__ import annotations

import pytest
from tests.cas_servers import AZURITE_ACCOUNT, AZURITE_KEY, S3_KEY_ID, S3_SECRET

from chainproof.cas._chunked import normal_prefix
from chainproof.cas.azure_blob import AzureBlobBackend
from chainproof.cas.s3 import S3Backend, S3Credentials
from chainproof.errors import InvalidInput

MiB = 1024 * 1024
# Azurite's development account on a port nothing listens on: no request is made here.
CONNECTION = (
    f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
    f"BlobEndpoint=http://127.0.0.1:9/{AZURITE_ACCOUNT};"
)


def test_s3_impossible_configuration() -> None:
    with pytest.raises(InvalidInput, match="part size"):
        S3Backend("cas", part_size=MiB)
    with pytest.raises(InvalidInput, match="10000 parts") as info:
        S3Backend("cas", max_blob_size=10**12)
    assert info.value.hint == "raise part_size (an upload has at most 10,000 parts)"
    with pytest.raises(InvalidInput, match="bucket"):
        S3Backend("")


def test_azure_impossible_configuration() -> None:
    with pytest.raises(InvalidInput, match="exactly one"):
        AzureBlobBackend("cas")
    with pytest.raises(InvalidInput, match="50000 blocks") as info:
        AzureBlobBackend("cas", connection_string=CONNECTION, block_size=1, max_blob_size=10**6)
    assert info.value.hint == "raise block_size (an upload has at most 50,000 blocks)"


def test_no_secret_in_a_repr() -> None:
    credentials = S3Credentials(S3_KEY_ID, S3_SECRET)
    s3 = S3Backend("cas", credentials=credentials)
    assert S3_SECRET not in repr(credentials) and S3_SECRET not in repr(s3)
    azure = AzureBlobBackend("cas", connection_string=CONNECTION)
    assert AZURITE_KEY not in repr(azure)


@pytest.mark.parametrize(
    ("given", "used"),
    [("", ""), ("org-1", "org-1/"), ("/org-1/", "org-1/"), ("a/b", "a/b/")],
)
def test_prefixes_are_normalised(given: str, used: str) -> None:
    assert normal_prefix(given) == used
    assert S3Backend("cas", prefix=given).prefix == used
    assert AzureBlobBackend("cas", connection_string=CONNECTION, prefix=given).prefix == used
