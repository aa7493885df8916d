"""``db.base.ordered_id``: UUIDv7 strings that sort by the time they were made (the discover
index's bulk rows use them so that their primary-key index grows at its right edge)."""

from __future__ import annotations

import time
import uuid

from chainproof.server.db.base import ordered_id


def test_ordered_ids_are_uuid7_and_unique() -> None:
    ids = [ordered_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:100]:
        value = uuid.UUID(text)
        assert (value.version, value.variant) == (7, uuid.RFC_4122)
        assert str(value) == text and len(text) == 36


def test_ordered_ids_sort_by_the_millisecond_they_were_made() -> None:
    before = ordered_id()
    time.sleep(0.002)
    after = ordered_id()
    assert before < after
    ms = int(uuid.UUID(after).hex[:12], 16)
    assert abs(ms - time.time_ns() // 1_000_000) < 5_000
