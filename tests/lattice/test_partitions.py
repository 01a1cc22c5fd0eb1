"""Partitions: factories and validation messages."""

import numpy as np
import pytest

from macrobell import lattice as ml
from macrobell.lattice import Partition


def test_halves_chain_and_square():
    p = Partition.halves(ml.chain(7))
    assert [r.tolist() for r in p.regions] == [[0, 1, 2, 3], [4, 5, 6]]
    assert p.names == ("A", "B") and p.sizes == (4, 3) and p.K == 2
    sq = ml.square(4, 2)
    p = Partition.halves(sq)
    assert set(sq.positions[p.regions[0], 0]) == {0, 1}


def test_sublattices_and_region_index():
    lat = ml.chain(6, pbc=True)
    p = Partition.sublattices(lat)
    assert [r.tolist() for r in p.regions] == [[0, 2, 4], [1, 3, 5]]
    np.testing.assert_array_equal(p.region_index(), [0, 1, 0, 1, 0, 1])
    q = Partition.custom(ml.chain(5), {"L": [0], "R": [4]})
    np.testing.assert_array_equal(q.region_index(), [0, -1, -1, -1, 1])
    assert q.names == ("L", "R")


def test_blocks_and_strips():
    p = Partition.blocks(ml.chain(10), 3)
    assert p.sizes == (4, 3, 3)
    legs = Partition.strips(ml.ladder(4), axis=1)
    assert legs.sizes == (4, 4) and legs.K == 2
    cols = Partition.strips(ml.square(4, 2), axis=0, K=2)
    assert cols.sizes == (4, 4)


@pytest.mark.parametrize("call, match", [
    pytest.param(lambda: Partition.custom(ml.chain(4), {"A": [0, 1], "B": [1, 2]}),
                 "site 1 is in both 'A' and 'B'", id="overlap"),
    pytest.param(lambda: Partition.custom(ml.chain(4), {"A": [], "B": [1]}), "'A' is empty", id="empty"),
    pytest.param(lambda: Partition.custom(ml.chain(4), {"A": [0, 7], "B": [1]}),
                 r"out of range \[7\]", id="out-of-range"),
    pytest.param(lambda: Partition.custom(ml.chain(4), {"A": [0, 1, 2, 3]}), "K >= 2", id="one-region"),
    pytest.param(lambda: Partition.custom(ml.chain(4), {"A": [0, 0], "B": [1]}), "more than once", id="repeat"),
    pytest.param(lambda: Partition.custom(ml.chain(4), {"A": [0.5], "B": [1]}), "integer site", id="non-integer"),
    pytest.param(lambda: Partition.sublattices(ml.chain(5, pbc=True)), "not bipartite", id="odd-ring"),
    pytest.param(lambda: Partition.blocks(ml.chain(3), 4), "cannot be non-empty", id="too-many-blocks"),
    pytest.param(lambda: Partition.blocks(ml.chain(3), 1), "K must be", id="one-block"),
])
def test_bad_partitions(call, match):
    with pytest.raises(ValueError, match=match):
        call()
