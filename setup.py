"""Builds the compiled parts of ingestion (monitoring/_cingest.c) in place; `make venv` runs
it. The Python code is not installed as a package. Each compiled function has a Python
reference, used where the module is not built (docs/architecture.md §6, "Ingestion
throughput")."""

from setuptools import Extension, setup

setup(
    packages=[],
    py_modules=[],
    ext_modules=[Extension("monitoring._cingest", ["monitoring/_cingest.c"], extra_compile_args=["-O2"])],
)
