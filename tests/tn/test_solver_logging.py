"""Solvers report progress as log records of the 'macrobell.tn' layer logger (issue 13).

The records' numbers are checked against the states the solvers return (oracle: the
returned diagnostics and the exact ground energy), not against themselves.
"""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest

import macrobell.lattice as lat
import macrobell.tn as tn
from macrobell._logging import LiveLineHandler, cli_logging


def _records(caplog, solver):
    return [r for r in caplog.records if r.name.startswith("macrobell.tn") and getattr(r, "solver", None) == solver]


def test_dmrg_logs_one_record_per_sweep_ending_at_the_returned_energy(caplog):
    model = lat.heisenberg(lat.chain(8))
    with caplog.at_level(logging.INFO, logger="macrobell.tn"):
        st = tn.ground_state(model, method="dmrg", bond_dim=16, seed=1)
    recs = _records(caplog, "dmrg")
    assert len(recs) >= 2
    assert [r.sweep for r in recs] == list(range(1, len(recs) + 1))
    e_exact = tn.ground_state(model, method="exact").energy
    assert recs[-1].energy == pytest.approx(e_exact, abs=1e-7)
    assert recs[-1].energy == pytest.approx(st.energy, abs=1e-7)
    assert all(r.levelno == logging.INFO and r.max_bond <= r.bond_dim for r in recs)
    assert "sweep" in recs[0].getMessage()


def test_purification_logs_beta_reached_and_each_state(caplog):
    model = lat.heisenberg(lat.chain(6))
    temps = [2.0, 0.5]
    with caplog.at_level(logging.INFO, logger="macrobell.tn"):
        states = tn.thermal_states(model, temps, method="purification", bond_dim=16, dtau=0.1, order=2,
                                   trotter_check=False)  # one evolution, no check run
    recs = _records(caplog, "purification")
    betas = [r.beta for r in recs if not hasattr(r, "energy")]
    assert len(betas) >= 1 / min(temps) / 2 / 0.1  # at least one record per Trotter step
    assert max(betas) == pytest.approx(1 / min(temps), rel=1e-9)  # the evolution reaches the largest beta
    snaps = [r for r in recs if hasattr(r, "energy")]
    assert sorted(r.beta for r in snaps) == pytest.approx(sorted(1 / t for t in temps))
    for st in states:
        r = next(r for r in snaps if abs(r.beta - 1 / st.temperature) < 1e-12)
        assert r.energy == pytest.approx(st.energy, rel=1e-12)


def test_library_is_quiet_by_default_and_the_cli_handler_shows_lines():
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("macrobell").handlers)
    buf = io.StringIO()
    with cli_logging(verbose=True, stream=buf):
        tn.ground_state(lat.heisenberg(lat.chain(6)), method="dmrg", bond_dim=8, seed=0)
    lines = buf.getvalue().splitlines()
    assert lines and all(line.startswith("dmrg: sweep") for line in lines)
    buf2 = io.StringIO()  # not a terminal, not verbose: INFO stays quiet
    with cli_logging(verbose=False, stream=buf2):
        tn.ground_state(lat.heisenberg(lat.chain(6)), method="dmrg", bond_dim=8, seed=0)
    assert buf2.getvalue() == ""


def test_live_line_rewrites_in_place_and_warnings_keep_their_line():
    buf = io.StringIO()
    h = LiveLineHandler(buf, live=True)
    log = logging.getLogger("macrobell.tn.fake")
    log.addHandler(h)
    log.setLevel(logging.INFO)
    try:
        log.info("sweep 1")
        log.info("sweep 2")
        log.warning("truncation")
        log.info("sweep 3")
        h.end_line()
    finally:
        log.removeHandler(h)
        log.setLevel(logging.NOTSET)
    text = buf.getvalue()
    assert text.count("\n") == 2 and "\r\x1b[2Kfake: sweep 2" in text
    assert "macrobell: warning: fake: truncation\n" in text
