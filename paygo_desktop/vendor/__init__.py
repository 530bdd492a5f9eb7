"""The vendor's side of the app: what a provider this wallet holds the key of earned (``earnings``) and
its Claim now (``claims``). The provider's own claimer, which runs beside the provider, stays in provider/.
"""
