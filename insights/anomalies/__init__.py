"""Anomalies: hours whose figures leave their seasonal baseline (docs/architecture.md §10).

`detector` is pure (no Django); `services` reads series through monitoring's selectors,
runs the detector and stores `insights.models.Anomaly` rows.
"""
