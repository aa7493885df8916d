"""Use cases of the control plane: every business rule lives here, not in routers.

Each function takes the request's SQLAlchemy ``Session`` (and the ``Principal`` acting);
none commits — the caller's unit of work does.
"""
