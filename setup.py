"""Builds the compiled parts of ingestion in place (`make venv` runs it): Python code is not
installed as a package. Each extension has a pure-Python reference beside it, used where
the extension is not built (docs/architecture.md §6, "Ingestion throughput")."""

from setuptools import Extension, setup

setup(
    packages=[],
    py_modules=[],
    ext_modules=[
        Extension("monitoring.logsearch._ckeys", ["monitoring/logsearch/_ckeys.c"], extra_compile_args=["-O2"]),
        Extension("monitoring.store._clines", ["monitoring/store/_clines.c"], extra_compile_args=["-O2"]),
    ],
)
