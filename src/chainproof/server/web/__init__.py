"""The dashboard: server-rendered pages over the same services as the API (docs/dashboard.md).

Pages hold no rules of their own: each handler authenticates the browser's session cookie
(:mod:`.auth`), calls the services the API calls, and renders a Jinja2 template
(:mod:`.render`). Every page works for reading without JavaScript; forms carry a CSRF token.
"""

from chainproof.server.web.mount import install

__all__ = ["install"]
