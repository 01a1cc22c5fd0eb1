"""Lattices, spin models and partitions: plain data, no tensor networks.

``macrobell.lattice`` imports nothing else from macrobell.
"""

from .geometry import (LATTICE_KINDS, Lattice, chain, cubic, from_bonds, honeycomb, kagome, ladder,
                       square, triangular)
from .models import MODEL_KINDS, PAULI, SPIN, Field, SpinModel, Term, heisenberg, j1j2, tfim, xxz, xyz
from . import materials
from .materials import MATERIALS, Material, get_material
from .partitions import PARTITION_KINDS, Partition

__all__ = [
    "Lattice", "chain", "ladder", "square", "triangular", "honeycomb", "kagome", "cubic", "from_bonds",
    "LATTICE_KINDS", "SpinModel", "Term", "Field", "heisenberg", "xxz", "xyz", "j1j2", "tfim",
    "MODEL_KINDS", "PAULI", "SPIN", "Partition", "PARTITION_KINDS", "materials", "Material", "MATERIALS",
    "get_material",
]
