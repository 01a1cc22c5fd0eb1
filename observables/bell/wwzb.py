"""Placeholder: filled in by the WWZB/LHS work (issue 9)."""


def wwzb(eff, restarts=20, seed=None):
    raise NotImplementedError
