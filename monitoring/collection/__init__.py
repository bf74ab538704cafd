"""Collection of one AWS account × region as fetch → store.

`orchestrator` runs the unit of work (lock, role, discovery when due, metrics, logs);
`discovery`, `metrics` and `logs` fetch from AWS; `monitoring.store` writes what they fetched.
"""
