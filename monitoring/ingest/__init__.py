"""Push ingestion: logs delivered to us instead of polled (docs/push.md)."""
