"""The control plane (a shell, not a public API): settings, app factory, API, services, db."""
