"""PayGo Desktop: a desktop wallet for pay-as-you-go digital services."""

__version__ = "0.1.0"
APP_NAME = "PayGo Desktop"
