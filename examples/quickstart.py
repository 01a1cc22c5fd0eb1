"""Quick start: is the macroscopic correlation of a Heisenberg chain local?

Run with ``.venv/bin/python examples/quickstart.py`` after ``make demo`` or ``make test``.
"""

import macrobell as mb

lat = mb.lattice.chain(12, pbc=True)
model = mb.lattice.heisenberg(lat, J=1.0, Delta=1.0)
part = mb.lattice.Partition.sublattices(lat)

gs = mb.tn.ground_state(model, method="exact")
eff = mb.observables.effective_state(gs, part)
crit = eff.criteria()
print(f"E0 = {gs.energy:.10f}  chsh_max = {crit['chsh_max']:.4f}  werner_V = {crit['werner_V']:.4f} "
      f"(monogamy bound {crit['monogamy_bound']:.4f})  verdict: {crit['verdict']}")

# the same on an MPS, and at finite temperature
gs_mps = mb.tn.ground_state(model, method="dmrg", bond_dim=64)
print("DMRG:", gs_mps.energy, gs_mps.info["converged"])
for st in mb.tn.thermal_states(model, temperatures=[0.25, 1.0], method="exact"):
    c = mb.observables.effective_state(st, part).criteria()
    print(f"T = {st.temperature}: werner_V = {c['werner_V']:.4f}, verdict {c['verdict']}")
