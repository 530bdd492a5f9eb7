"""PayGo Desktop: a desktop wallet for pay-as-you-go digital services."""

from paygo_desktop import deferred_bls as _deferred_bls

__version__ = "0.1.0"
APP_NAME = "PayGo Desktop"

_deferred_bls.install()  # before anything imports eth-account: see deferred_bls for why
