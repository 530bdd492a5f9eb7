"""The reference PayGo provider: a FastAPI server selling metered sessions paid by PayGoVault vouchers.

Entry points: ``app.create_app(config)`` (app factory), ``server.main`` (``paygo-provider``: serve, with
several workers on PostgreSQL, and a health check) and ``server.main_serve(path, host, port)``. Importing
this package loads nothing else, so the command line can describe its options cheaply (``serve_args``).
"""
