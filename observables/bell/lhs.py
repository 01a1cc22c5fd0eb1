"""Placeholder: filled in by the WWZB/LHS work (issue 9)."""


class LHSCertificate:
    pass


def lhs_certificate(eff, **kw):
    raise NotImplementedError
