"""Dealing the gallery to shards (docs/_ext/survey_sphinx/shards.py): parsing and balance.

The sharded build itself is tested on a toy project in tests/test_build.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "_ext"))

from survey_sphinx.shards import parse_shard, partition  # noqa: E402


def test_parse_shard():
    assert parse_shard("") is None
    assert parse_shard(" 2/3 ") == (2, 3)
    assert parse_shard("1/1") == (1, 1)
    for bad in ("0/2", "3/2", "1", "a/b", "1/2/3"):
        with pytest.raises(ValueError, match="survey_gallery_shard"):
            parse_shard(bad)
    with pytest.raises(TypeError, match="survey_gallery_shard"):
        parse_shard(2)


def test_partition_is_longest_first_to_the_least_loaded_shard():
    costs = {"a": 10.0, "b": 7.0, "c": 6.0, "d": 4.0, "e": 3.0}
    # a→1; b→2; c→2 (7 < 10); d→1 (10 < 13); e→2 (13 < 14)
    assert partition(list("edcba"), costs, 2) == [["a", "d"], ["b", "c", "e"]]


def test_partition_covers_every_example_once_and_is_reproducible():
    stems = [f"plot_{i}" for i in range(23)]
    costs = {s: float((7 * i) % 11 + 1) for i, s in enumerate(stems) if i % 4}  # some unknown
    for n in (1, 2, 3, 5):
        shards = partition(stems, costs, n)
        assert sorted(s for shard in shards for s in shard) == sorted(stems)
        assert partition(list(reversed(stems)), costs, n) == shards  # input order is irrelevant
        assert all(shards)
    # an unknown example counts as the median cost of the known ones
    assert partition(["x", "y", "z"], {"x": 1.0, "z": 5.0}, 2) == [["z"], ["y", "x"]]


def test_balance_on_the_committed_costs():
    import json

    costs = json.loads(
        (Path(__file__).resolve().parents[1] / "gallery" / "example_costs.json").read_text()
    )
    loads = [sum(costs[s] for s in shard) for shard in partition(sorted(costs), costs, 2)]
    # Greedy longest-first is within the largest single cost of perfect balance.
    assert max(loads) - min(loads) <= max(costs.values())
