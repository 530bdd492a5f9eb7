"""The local x402 proxy: ``curl``-style clients call an x402 endpoint through the wallet, which pays within
the site's limits; a payment over them is refused with 402 and nothing signed; the door answers only to
127.0.0.1/localhost with its secret."""

from __future__ import annotations

import httpx

from paygo_desktop.sessions.x402_proxy import X402Proxy
from paygo_desktop.store.x402 import SETTLED, SitePolicy, X402Store
from tests.x402_pay.conftest import Env, make_payer, sdk_server, usdc_price

PRICE = 20_000


def test_tools_pay_through_the_proxy_within_limits(env: Env, app_store) -> None:
    with sdk_server(env, price=usdc_price(env, PRICE)) as server:
        records = X402Store(app_store)
        records.save_policy(SitePolicy(server.url, env.chain_id, env.usdc, "USDC", 6, max_total=PRICE))
        before = env.usdc_balance(env.payer.address)
        target = server.url.replace("http://", "http/")

        async def scenario() -> list[httpx.Response]:
            proxy = X402Proxy(make_payer(env, app_store))
            base = await proxy.start()
            try:
                async with httpx.AsyncClient(timeout=30) as tool:
                    return [
                        await tool.get(f"{base}{target}/free"),
                        await tool.get(f"{base}{target}/paid", headers={"Cookie": "a=b"}),
                        await tool.get(f"{base}{target}/paid"),  # over the total limit
                        await tool.get(f"{base.rsplit('/', 2)[0]}/wrong-secret/{target}/paid"),
                        await tool.get(f"{base}{target}/paid", headers={"Host": "evil.example"}),
                        await tool.get(f"{base}ftp/example.com/x"),
                    ]
            finally:
                await proxy.close()

        free, paid, over, no_secret, wrong_host, bad = env.run(scenario())
        assert free.status_code == 200 and "x-paygo-x402-payment" not in free.headers
        assert paid.status_code == 200 and paid.json() == {"answer": 42}
        assert paid.headers["x-paygo-x402-payment"] == "0.02 USDC; settled"
        assert over.status_code == 402 and over.json()["code"] == "refused_over_total"
        assert (no_secret.status_code, wrong_host.status_code, bad.status_code) == (404, 403, 400)
        assert len(server.signatures) == 1
    assert [p.status for p in records.payments()] == [SETTLED]
    assert env.usdc_balance(env.payer.address) == before - PRICE
