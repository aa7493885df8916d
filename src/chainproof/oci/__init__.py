"""A small OCI distribution client, shared by CONTAINER_IMAGE evidence and the OCI CAS backend."""

from chainproof.oci.registry import Credentials, ManifestInfo, RegistryClient, credentials_for

__all__ = ["Credentials", "ManifestInfo", "RegistryClient", "credentials_for"]
