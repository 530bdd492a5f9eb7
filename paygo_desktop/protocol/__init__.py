"""The PayGo provider protocol: models, routes and signatures shared by the app's client and the provider.

Qt-free and network-free except ``client`` (httpx). Amounts are integers of base units; on the wire they
are JSON strings of decimal digits. Field names on the wire are camelCase.
"""
