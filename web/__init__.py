"""Request input helpers every app shares: validated query parameters and the client address.

Imports no app (see docs/architecture.md, the app order)."""
