"""The live workflow cache is bounded by the bytes of saved state, not only by count."""
from __future__ import annotations

from engine.runtime.live import LiveWorkflows


def test_eviction_by_bytes_drops_the_least_recently_used_first():
    live = LiveWorkflows(size=100, max_bytes=1000)
    for instance_id in range(1, 5):
        live.keep(instance_id, 1, object(), 300)
    assert len(live) == 3 and live.bytes == 900
    assert live.take(1, 1) is None  # the oldest went first
    assert live.take(2, 1) is not None and live.bytes == 600


def test_a_workflow_larger_than_the_whole_cache_is_not_kept_and_replacing_one_frees_its_bytes():
    live = LiveWorkflows(size=100, max_bytes=1000)
    live.keep(1, 1, object(), 400)
    live.keep(1, 2, object(), 500)
    assert len(live) == 1 and live.bytes == 500
    live.keep(2, 1, object(), 5000)
    assert live.take(2, 1) is None and live.bytes == 500
    assert live.take(1, 1) is None and live.bytes == 0  # an older row version is never handed out


def test_resizing_to_zero_empties_it():
    live = LiveWorkflows(size=10, max_bytes=10_000)
    live.keep(1, 1, object(), 10)
    live.resize(max_bytes=0)
    assert len(live) == 0 and live.bytes == 0
