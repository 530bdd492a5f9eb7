"""The first-run wizard: Qt views drawing the core state machine in ``paygo_desktop.onboarding``."""
