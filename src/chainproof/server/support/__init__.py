"""What the server's services stand on, apart from the use cases themselves.

The caller (:mod:`.principal`), the server's secret key and the secrets sealed under it
(:mod:`.sealed`), pagination cursors (:mod:`.pagination`) and RFC 3339 times (:mod:`.times`).
Services and API handlers import these; nothing here imports a service.
"""
