"""Placeholder: filled in by the Bell-engine work (issue 9)."""


class BellSearch:
    pass


def search(eff, settings=2, restarts=20, seed=None):
    raise NotImplementedError
