"""Placeholder: filled in by the Bell-engine work (issue 9)."""


class BellValue:
    pass


def chsh(eff):
    raise NotImplementedError


def i3322(eff, restarts=20, seed=None):
    raise NotImplementedError
