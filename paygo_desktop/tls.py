"""The certificate store every HTTPS client of the app shares.

Building one reads and parses the CA bundle: 15–25 ms of CPU, a visible stall if it happens on the event
loop, and pointless to repeat for every client or every poll. Build it once, off the event loop
(``await asyncio.to_thread(tls_context)``) or in a module a worker thread imports.
"""

from __future__ import annotations

import functools
import ssl


@functools.cache
def tls_context() -> ssl.SSLContext:
    import httpx

    return httpx.create_ssl_context()
