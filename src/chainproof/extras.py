"""Optional parts of chainproof, and the pip extra that installs each.

``pip install chainproof`` is the light CLI a CI job needs: ``attestation init|add|push``,
``verify`` and the evidence kinds most pipelines produce. Libraries that only a few kinds or
commands use are extras (pyproject ``[project.optional-dependencies]``)::

    extra           library                                   needed by
    spdx            spdx-tools                                SBOM_SPDX_JSON
    specs           openapi-spec-validator                    OPENAPI_SPEC
                    graphql-core                              GRAPHQL_SPEC
    cyclonedx-xml   cyclonedx-python-lib[xml-validation]      SBOM_CYCLONEDX_XML (lxml)
    public-good     sigstore                                  verify --public-good
    all             all of the above

``server`` includes every extra an evidence kind needs (the control plane validates all
kinds); ``test`` includes ``all``.

Code that needs one calls :func:`require` first and imports the library lazily after it, so
a missing extra is an error the user can act on, not a traceback.
"""

from __future__ import annotations

import importlib

from chainproof.errors import InvalidInput, MaterialError


def require(
    module: str, extra: str, *, needed_by: str, error: type[InvalidInput] = MaterialError
) -> None:
    """Import ``module``, or raise ``error`` (exit code 2) saying which extra installs it.

    ``needed_by`` names what cannot work without it (an evidence kind, a command option).
    """
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as err:
        # NOTE: also when the library is there but one of its own dependencies is not
        # (err.name is then that dependency): installing the extra repairs both.
        raise error(
            f"{needed_by} needs the {extra} extra: pip install 'chainproof[{extra}]'",
            hint=f"{err.name or module} is not installed; `pip install 'chainproof[all]'` "
            "installs every optional part",
        ) from None
