"""Configuration as code: one YAML document for an organisation's projects, channels,
alert rules, suppressions and digests (README, "Configuration as code")."""
