"""Property tests: parsers of untrusted input fail only with chainproof errors.

See docs/architecture.md §11.

Whatever bytes arrive as a contract, a DSSE envelope, a bundle or a statement, the parser
either returns a value or raises a ChainproofError with a message: never a KeyError,
TypeError or a YAML/JSON library exception that would surface as a 500 or a traceback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainproof.core.bundle import Bundle
from chainproof.core.contract import Contract
from chainproof.core.dsse import Envelope
from chainproof.core.statement import Statement
from chainproof.errors import ChainproofError

ASSETS = Path(__file__).parent.parent.parent / "assets"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)

# Structured mutations of a real contract reach far deeper than random text.
CONTRACT = json.loads(
    json.dumps(Contract.parse((ASSETS / "e2e" / "contract.yaml").read_text()).to_dict())
)
CONTRACT_KEYS = ["apiVersion", "kind", "metadata", "spec", "schemaVersion"]
SPEC_KEYS = ["materials", "envAllowList", "runner", "annotations", "policies", "policyGroups"]
MATERIAL_KEYS = ["type", "name", "optional", "output", "annotations", "skip_upload", "group"]

# CI replays a fixed example set so a red build always reproduces; local runs explore anew.
FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow],
)


def _parses_or_refuses(parse: object, data: object) -> None:
    try:
        parse(data)  # type: ignore[operator]
    except ChainproofError as err:
        assert str(err)


@FUZZ
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_contract_parser_on_random_text(text: str | bytes) -> None:
    _parses_or_refuses(Contract.parse, text)


@FUZZ
@given(
    st.sampled_from(CONTRACT_KEYS),
    st.sampled_from(SPEC_KEYS),
    st.sampled_from(MATERIAL_KEYS),
    json_values,
    st.integers(0, 2),
)
def test_contract_parser_on_mutated_contracts(
    top: str, spec_key: str, material_key: str, value: object, where: int
) -> None:
    doc = json.loads(json.dumps(CONTRACT))
    if where == 0:
        doc[top] = value
    elif where == 1:
        doc["spec"][spec_key] = value
    else:
        doc["spec"]["materials"][0][material_key] = value
    _parses_or_refuses(Contract.parse, json.dumps(doc))
    _parses_or_refuses(Contract.from_dict, doc)


@FUZZ
@given(
    json_values
    | st.dictionaries(st.sampled_from(["payload", "payloadType", "signatures"]), json_values)
)
def test_dsse_parser(data: object) -> None:
    _parses_or_refuses(Envelope.from_dict, data)


BUNDLE = json.loads((next((ASSETS / "signing").glob("*bundle*.json"))).read_text())


@FUZZ
@given(
    st.sampled_from(["mediaType", "verificationMaterial", "dsseEnvelope"]),
    json_values,
)
def test_bundle_parser_on_mutated_bundles(key: str, value: object) -> None:
    doc = json.loads(json.dumps(BUNDLE))
    doc[key] = value
    _parses_or_refuses(Bundle.from_json, doc)
    _parses_or_refuses(Bundle.from_json, json.dumps(doc))


@FUZZ
@given(
    json_values
    | st.dictionaries(
        st.sampled_from(["_type", "subject", "predicateType", "predicate"]), json_values
    )
)
def test_statement_parser(data: object) -> None:
    _parses_or_refuses(Statement.from_json, data)
