"""The stored transparency log against RFC 6962's reference definitions (tests/tlog_helpers).

Every root, inclusion proof and consistency proof for all tree sizes 1..40 must equal the
recursive MTH/PATH/PROOF of the same leaves, and verify with chainproof.core.merkle.
"""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy.orm import Session, sessionmaker
from tests.tlog_helpers import audit_path, consistency_proof, mth

from chainproof.core.merkle import leaf_hash as merkle_leaf
from chainproof.core.merkle import verify_consistency, verify_inclusion
from chainproof.errors import InvalidInput, NotFound, VerificationError
from chainproof.server import tlog
from chainproof.server.bootstrap import create_org

SIZE = 40


def _org(sessions: sessionmaker[Session]) -> tuple[str, str]:
    name = f"org-{secrets.token_hex(4)}"
    with sessions.begin() as session:
        org, _ = create_org(session, name)
    return str(org["id"]), name


def test_tree_matches_the_rfc6962_reference(sessions: sessionmaker[Session]) -> None:
    org_id, name = _org(sessions)
    bodies = [f"entry {i}".encode() for i in range(SIZE)]
    for n, body in enumerate(bodies, start=1):
        with sessions.begin() as session:
            log = tlog.log_of(session, org_id, name)
            done = tlog.append(session, log, body)
        assert done.index == n - 1 and done.tree_size == n
        assert done.root_hash == mth(bodies[:n])
    with sessions() as session:
        log = tlog.log_of(session, org_id, name)
        assert log.origin == f"chainproof.local/{name}/tlog"
        for size in range(1, SIZE + 1):
            root = tlog.root_at(session, log, size)
            assert root == mth(bodies[:size])
            for index in range(size):
                path = tlog.inclusion_proof(session, log, index, size)
                assert path == audit_path(index, bodies[:size])
                verify_inclusion(index, size, merkle_leaf(bodies[index]), path, root)
            for first in range(1, size + 1):
                proof = tlog.consistency_proof(session, log, first, size)
                assert proof == consistency_proof(first, bodies[:size])
                verify_consistency(first, size, mth(bodies[:first]), root, proof)


def test_bad_proofs_and_sizes_are_rejected(sessions: sessionmaker[Session]) -> None:
    org_id, name = _org(sessions)
    bodies = [f"e{i}".encode() for i in range(11)]
    with sessions.begin() as session:
        log = tlog.log_of(session, org_id, name)
        for body in bodies:
            tlog.append(session, log, body)
    with sessions() as session:
        log = tlog.log_of(session, org_id, name)
        root = log.root_hash
        path = tlog.inclusion_proof(session, log, 3, 11)
        with pytest.raises(VerificationError, match=r"^inclusion proof check failed: .*truncated"):
            verify_inclusion(3, 11, merkle_leaf(bodies[3]), path[:-1], root)
        with pytest.raises(VerificationError, match=r"^inclusion proof check failed"):
            verify_inclusion(3, 11, merkle_leaf(bodies[4]), path, root)
        proof = tlog.consistency_proof(session, log, 5, 11)
        old = mth(bodies[:5])
        with pytest.raises(VerificationError, match=r"^consistency proof check failed: .*trunc"):
            verify_consistency(5, 11, old, root, proof[:-1])
        with pytest.raises(VerificationError, match=r"^consistency proof check failed"):
            verify_consistency(5, 11, mth(bodies[:6]), root, proof)
        with pytest.raises(VerificationError, match=r"^consistency proof check failed"):
            verify_consistency(5, 11, old, root, [*proof, root])
        with pytest.raises(InvalidInput, match="outside the log"):
            tlog.consistency_proof(session, log, 3, 12)
        with pytest.raises(InvalidInput, match="first must be between"):
            tlog.consistency_proof(session, log, 0, 5)
        with pytest.raises(NotFound):
            tlog.inclusion_proof(session, log, 11, 11)
        with pytest.raises(NotFound):
            tlog.leaf(session, log, 11)


def test_each_organisation_has_its_own_log(sessions: sessionmaker[Session]) -> None:
    (a, a_name), (b, b_name) = _org(sessions), _org(sessions)
    with sessions.begin() as session:
        first = tlog.append(session, tlog.log_of(session, a, a_name), b"a0")
        tlog.append(session, tlog.log_of(session, a, a_name), b"a1")
        other = tlog.append(session, tlog.log_of(session, b, b_name), b"b0")
    assert first.index == 0 and other.index == 0
    assert other.root_hash == mth([b"b0"])


def test_a_rolled_back_append_leaves_no_entry(sessions: sessionmaker[Session]) -> None:
    org_id, name = _org(sessions)
    with sessions.begin() as session:
        tlog.append(session, tlog.log_of(session, org_id, name), b"kept")
    with sessions() as session:
        tlog.append(session, tlog.log_of(session, org_id, name), b"rolled back")
        session.rollback()
    with sessions.begin() as session:
        again = tlog.append(session, tlog.log_of(session, org_id, name), b"next")
    assert again.index == 1 and again.root_hash == mth([b"kept", b"next"])
