"""The shared foundation every app may import: error shapes, codes, publishing, metrics and
the wire helpers (JSON encoding, the time format).

The rest of ``chatsite`` is the composition root (settings, urls, asgi, middleware, the
server entry point) that wires the apps together; nothing in an app imports it. The
import-linter contracts in ``pyproject.toml`` hold both rules.
"""
