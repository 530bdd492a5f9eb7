"""The views of metered sessions: the start dialog, the live meter, and the bridge to the session engine."""
