"""Storage of what collection fetched: one module per thing stored (resources, metric points,
invocations with their log lines and error groups, rollups), and the partitions and
retention of the time series. See docs/collection.md for the exactly-once promises.
"""
