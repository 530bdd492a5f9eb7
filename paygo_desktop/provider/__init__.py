"""The reference PayGo provider: a FastAPI server selling metered sessions paid by PayGoVault vouchers.

Entry points: ``create_app(config)`` (app factory), ``serve(config)`` and ``main_serve(path, host, port)``.
"""

from paygo_desktop.provider.config import ProviderConfig, load_config

__all__ = ["ProviderConfig", "load_config"]
