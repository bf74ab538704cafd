"""Development tooling, not product code: the local services `make demo` and `make test` start
(`devservices`) and the sandbox AWS (a moto server seeded with serverless resources and a
traffic generator). No product app imports this package (docs/architecture.md)."""
