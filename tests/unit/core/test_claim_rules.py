"""Claim rules of trusted CI issuers (issue 17): exact and glob matches, and refusals that
name the rule and what the token held."""

from __future__ import annotations

import pytest

from chainproof.core.claim_rules import ClaimRule, check_all
from chainproof.errors import Forbidden, InvalidInput

REF = "cyberdyne/skynet/.github/workflows/release.yml@refs/tags/v1.2.0"


@pytest.mark.parametrize(
    ("rule", "value", "holds"),
    [
        ("repository == cyberdyne/skynet", "cyberdyne/skynet", True),
        ("repository == cyberdyne/skynet", "cyberdyne/skynet2", False),
        ("repository == cyberdyne/skynet", "Cyberdyne/skynet", False),
        (f"workflow_ref glob {REF.rsplit('@', 1)[0]}@refs/tags/*", REF, True),
        ("workflow_ref glob cyberdyne/skynet/*@refs/tags/*", REF, False),  # * stops at /
        ("workflow_ref glob cyberdyne/skynet/**@refs/tags/*", REF, True),
        ("ref glob refs/tags/v?.*", "refs/tags/v1.2.0", True),
        ("ref glob refs/tags/*", "refs/tags/release/1.0", False),
        ("ref glob refs/heads/main", "refs/heads/main-evil", False),  # whole claim
        ("ref glob refs/(heads)/[main]", "refs/(heads)/[main]", True),  # no regex leaks
        ("repository_id == 42", 42, True),
        ("ref_protected == true", True, True),
    ],
)
def test_rules_match_the_whole_claim(rule: str, value: object, holds: bool) -> None:
    parsed = ClaimRule.parse(rule)
    claim = rule.split()[0]
    if holds:
        parsed.check({claim: value})
    else:
        with pytest.raises(Forbidden) as refused:
            parsed.check({claim: value})
        assert refused.value.message.startswith(f"rule '{rule}' failed: the token's {claim} is")


def test_a_refusal_names_the_rule_and_what_the_token_holds() -> None:
    rules = [ClaimRule.parse(t) for t in ("repository == cyberdyne/skynet", "ref glob refs/tags/*")]
    with pytest.raises(Forbidden) as refused:
        check_all(rules, {"repository": "cyberdyne/skynet", "ref": "refs/heads/main"})
    assert refused.value.message == (
        "rule 'ref glob refs/tags/*' failed: the token's ref is 'refs/heads/main'"
    )
    with pytest.raises(Forbidden, match="the token has no 'ref' claim"):
        check_all(rules, {"repository": "cyberdyne/skynet"})
    with pytest.raises(Forbidden, match="'ref' is not a string"):
        check_all(rules, {"repository": "cyberdyne/skynet", "ref": ["refs/tags/v1"]})
    check_all(rules, {"repository": "cyberdyne/skynet", "ref": "refs/tags/v1"})


@pytest.mark.parametrize(
    "text", ["repository", "repository = x", "repository ~ x", "1repo == x", "a b"]
)
def test_malformed_rules_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        ClaimRule.parse(text)


def test_rules_round_trip_through_their_stored_form() -> None:
    rule = ClaimRule.parse("workflow_ref glob a/b/.github/workflows/x.yml@refs/heads/main")
    assert ClaimRule.from_dict(rule.to_dict()) == rule
    assert str(rule) == "workflow_ref glob a/b/.github/workflows/x.yml@refs/heads/main"
    with pytest.raises(InvalidInput, match="needs 'value'"):
        ClaimRule.from_dict({"claim": "sub", "op": "=="})
