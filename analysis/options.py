"""The choices of the analysis options, in a module that imports nothing heavy: the web
service lists them (forms, parameters, the OpenAPI document) without loading SciPy."""

EXTRACTIONS = ("minres", "ml")
ROTATIONS = ("oblimin", "varimax", "promax", "none")
MISSING = ("listwise", "available")
