"""``model_to_local_ham`` against quimb's SparseOperatorBuilder terms (issue 10: ours kept, by measurement).

The builder sums the same spin-1/2 products on grid coordinates independently
(``build_local_terms``); a ``LocalHam2D`` made from its terms (zero on the grid
bonds the model leaves empty) must equal ours term for term, exactly.
"""

import numpy as np
import pytest

from macrobell import lattice as ml
from macrobell.tn.peps import lattice_coords, model_to_local_ham


def builder_terms(model):
    from quimb.operator import SparseOperatorBuilder

    _, _, coords = lattice_coords(model.lattice)
    b = SparseOperatorBuilder(atol=0.0)
    for t in model.terms:
        for i, j in t.bonds:
            b.add_term(t.coefficient, ("s" + t.ops[0], tuple(map(int, coords[i]))),
                       ("s" + t.ops[1], tuple(map(int, coords[j]))))
    for f in model.fields:
        for i in f.sites:
            b.add_term(f.coefficient, ("s" + f.op, tuple(map(int, coords[i]))))
    terms = b.build_local_terms(dtype=np.complex128)  # "sy" needs complex entries even when yy is real
    if model.is_real:
        assert not any(np.any(v.imag) for v in terms.values())
        terms = {k: v.real.copy() for k, v in terms.items()}
    return terms


MODELS = {
    "heisenberg-field": lambda: ml.heisenberg(ml.square(3, 3), h=0.3),
    "xyz": lambda: ml.xyz(ml.square(2, 4), Jx=0.5, Jy=-0.3, Jz=1.3, h=0.1),
    "tfim": lambda: ml.tfim(ml.square(3, 2), g=1.1),
    "ladder-groups": lambda: ml.heisenberg(ml.ladder(4), J={"leg": 1.0, "rung": 0.4}),
    "complex-terms": lambda: ml.SpinModel(ml.square(2, 2), (ml.Term(0.7, "xy", [[0, 1], [3, 1]]),
                                                            ml.Term(-0.2, "zy", [[2, 0]])),
                                          (ml.Field(0.3, "y", [1]),)),
}


@pytest.mark.parametrize("make", list(MODELS.values()), ids=list(MODELS))
def test_local_terms_equal_the_builders(make):
    qtn = pytest.importorskip("quimb.tensor")
    model = make()
    ham, Lx, Ly, _ = model_to_local_ham(model)
    ref = builder_terms(model)
    two = {k: v for k, v in ref.items() if len(k) == 2}
    one = {k[0]: v for k, v in ref.items() if len(k) == 1}
    grid = {((x, y), (x + 1, y)) for x in range(Lx - 1) for y in range(Ly)} | \
           {((x, y), (x, y + 1)) for x in range(Lx) for y in range(Ly - 1)}
    assert set(two) <= grid  # nearest-neighbour terms only
    dtype = np.float64 if model.is_real else np.complex128
    H2 = {bond: two.get(bond, np.zeros((4, 4), dtype)) for bond in grid}
    # quimb absorbs the fields into the bonds the same way for both inputs: equal inputs, equal terms
    lib = qtn.LocalHam2D(Lx, Ly, H2, H1=one or None)
    assert set(ham.terms) == set(lib.terms) == grid
    for bond in grid:
        np.testing.assert_array_equal(np.asarray(ham.terms[bond]), np.asarray(lib.terms[bond]))
