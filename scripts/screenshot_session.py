"""Render the README's pictures of a running session and of the Escrow page: the real app on the sandbox.

    python scripts/screenshot_session.py [OUT_DIR]

Starts the sandbox (a local chain and the reference provider, on free ports) in a throw-away data
directory, restores the well-known test wallet (the sandbox's first account; never use it for real money),
starts a Market Data Feed session through the same engine the Start dialog uses, lets it run for a few
ticks, and saves the window as OUT_DIR/session.png. Then it stops the session (the provider's receipt) and
shows the Escrow page with the funded channel and the transactions, saved as OUT_DIR/escrow.png; the
provider claims on chain, and Home with every balance's value beside it (the sandbox's price feeds) is
saved as OUT_DIR/home-values.png, the session's receipt checked offline and on chain as OUT_DIR/receipt.png,
and Activity's on-chain movements as OUT_DIR/movements.png.
Everything is stopped and removed afterwards.
With --vendor it saves OUT_DIR/vendor.png instead: the Vendor page after real sessions and a claim.
With --jobs it saves OUT_DIR/jobs.png and OUT_DIR/vendor-jobs.png: fixed-price jobs on both sides.
With --consultation it saves OUT_DIR/consultation.png: a Legal Consultation session with its chat pane open
beside the meter, the vendor answering through the sandbox's chat room (vendor.chat, as `provider chat`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TEST_PHRASE = "test test test test test test test test test test test junk"
PASSWORD = "screenshot-password"
SERVICE_ID = "market-data-feed"
RUN_SECONDS = 12.0


def run_on_sandbox(
    prefix: str, page: str, shoot: Callable[[Any, Any], Awaitable[None]], *, vendor_key: bool = False
) -> int:
    """A throw-away data directory with the test wallet, the sandbox started in it, the real window on
    ``page``; then ``shoot(window, sandbox)`` runs in the window's event loop. Everything is stopped after."""
    import qasync
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QApplication

    from paygo_desktop.context import AppContext
    from paygo_desktop.gui.main_window import MainWindow
    from paygo_desktop.gui.theme import ThemeManager
    from paygo_desktop.paths import DataDir
    from paygo_desktop.sandbox import world
    from paygo_desktop.wallet import KdfParams, Wallet

    data = DataDir(Path(tempfile.mkdtemp(prefix=prefix))).ensure()
    ctx = AppContext.open(data)
    wallet = Wallet(data.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**12))
    ctx.__dict__["wallet"] = wallet
    account = wallet.create_from_mnemonic(TEST_PHRASE, PASSWORD, label="Everyday").address
    if vendor_key:
        wallet.import_private_key(world.provider_key(), PASSWORD, "My provider")
    running = world.start(
        data, accounts=[account], rpc_port=world.free_port(), provider_port=world.free_port()
    )
    try:
        ctx.settings.network = "sandbox"
        ctx.settings.active_account = account
        ctx.settings.providers = [running.state.provider_url]
        ctx.settings.save()
        app = QApplication(sys.argv[:1])
        app.setQuitOnLastWindowClosed(False)  # this script ends its loop itself, once the window has closed
        ThemeManager(app, "light")
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        window = MainWindow(ctx, poll_network=False)
        window.resize(QSize(1200, 760))
        window.start()
        window.show()
        wallet.unlock(PASSWORD)
        window.show_app(page)

        async def shoot_and_close() -> None:
            await shoot(window, running)
            # the window's last reads (a stopped session's history) end on the loop, as when a person quits
            await until(lambda: not window.runner.busy, "the window's last tasks")
            window.close()  # it closes once what must end first has ended (gui/quit_steps.py)
            await until(lambda: not window.isVisible(), "the window to close")

        with loop:
            loop.run_until_complete(shoot_and_close())
    finally:
        running.stop(data.sandbox_dir)
        ctx.close()
    return 0


async def start_session(window: Any, running: Any, service: str) -> Any:
    from paygo_desktop.sessions.plan import StartOptions

    engine = await window.sessions.engine()
    plan = await engine.plan(running.state.provider_url, service)
    budget = plan.price.cost_seconds(30 * 60)
    live = await engine.start(plan, StartOptions("escrow", budget=budget, deposit=budget))
    return live


async def until(condition: Callable[[], Any], what: str) -> None:
    for _ in range(600):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def save(window: Any, target: Path) -> None:
    window.grab().save(str(target))
    print(target)


def main() -> int:
    """OUT_DIR/session.png (a session running) and OUT_DIR/escrow.png (the Escrow page after it)."""
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)

    async def shoot(window: Any, running: Any) -> None:
        await start_session(window, running, SERVICE_ID)
        await asyncio.sleep(RUN_SECONDS)
        save(window, out / "session.png")
        await window.sessions.shutdown()

        window.show_page("escrow")
        page = window.pages["escrow"]
        page.reload()
        # the page reads the chain in the background: wait for its overview
        await until(
            lambda: page.overview is not None and page.overview.channels and not page._loading,
            "the Escrow page to show the channel",
        )
        await asyncio.sleep(0.5)  # one more paint
        save(window, out / "escrow.png")
        await claim(running)
        await home_with_values(window, out / "home-values.png")
        await verified_receipt(window, out / "receipt.png")
        await movements(window, out / "movements.png")

    return run_on_sandbox("paygo-session-shot-", "sessions", shoot)


async def claim(running: Any) -> None:
    """The sandbox provider claims what the session paid (so the receipt's check finds it on chain)."""
    from eth_account import Account

    from paygo_desktop.protocol.client import ProviderClient
    from paygo_desktop.sandbox import world

    async with ProviderClient(running.state.provider_url) as client:
        await client.claim_now(Account.from_key(world.provider_key()))


async def home_with_values(window: Any, target: Path) -> None:
    """Home after the session: every balance with its value in dollars beside it (the sandbox's feeds)."""
    window.show_page("home")
    page = window.pages["home"]
    page.refresh()
    await until(
        lambda: page.balances and all(b.fiat for b in page.balances) and not page.balance_reads.busy,
        "Home's balances and their values",
    )
    await asyncio.sleep(0.5)
    save(window, target)


async def movements(window: Any, target: Path) -> None:
    """Activity's on-chain movements: the test money the sandbox funded, the deposit, the claim."""
    window.show_page("activity")
    page = window.pages["activity"]
    page.tabs.setCurrentWidget(page.movements)
    await until(lambda: page.movements.model.rowCount() > 0 and not page.movements._loading, "the movements")
    await asyncio.sleep(0.5)
    save(window, target)


async def verified_receipt(window: Any, target: Path) -> None:
    """The Sessions page's Receipt… of the finished session, checked offline and on chain."""
    window.show_page("sessions")
    page = window.pages["sessions"]
    page.load_history()
    await until(lambda: page.model.rowCount() > 0, "the session in the history")
    page.table.selectRow(0)
    dialog = page.open_receipt()
    await until(lambda: bool(dialog.checks), "the receipt's check")
    dialog.check_on_chain()
    await until(lambda: "paid on chain" in dialog.check_list.text(), "the receipt's check on chain")
    await asyncio.sleep(0.3)
    dialog.grab().save(str(target))
    print(target)
    dialog.accept()


def vendor_main() -> int:
    """OUT_DIR/vendor.png: the Vendor page connected to the sandbox provider after real sessions.

    The sandbox provider's key (``world.provider_key()``) is imported into the wallet as "My provider";
    a session runs for a few ticks, stops and is claimed on-chain with Claim now (its transaction dialog
    sent from that account); a second one is still
    running in the shot, so the page shows earnings claimed, pending and a live meter.
    """
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)

    async def shoot(window: Any, running: Any) -> None:
        first = await start_session(window, running, SERVICE_ID)
        await asyncio.sleep(RUN_SECONDS)
        await (await window.sessions.engine()).stop(first.local_id)
        window.show_page("vendor")
        page: Any = window.pages["vendor"]
        page.refresh()
        page.connect_provider()
        await until(lambda: page.overview is not None, "the vendor overview")
        page.claim()  # the claim's transaction dialog: the fee first, then Send
        await until(
            lambda: page.flow_dialog is not None and page.flow_dialog.state.phase == "review",
            "the claim's fee estimate",
        )
        dialog = page.flow_dialog
        dialog.send()
        await until(lambda: dialog.state.is_final, "the claim transaction")
        dialog.reject()  # Close
        await until(lambda: "confirmed in block" in page.message.text(), "the claim")
        await until(lambda: not window.runner.busy, "the reload after the claim")
        await start_session(window, running, "weather-api")  # still running: pending, a live meter
        window.show_page("vendor")
        await asyncio.sleep(RUN_SECONDS)
        page.connect_provider(keep_message=True)
        await until(lambda: not window.runner.busy, "the last reload")
        await asyncio.sleep(0.5)
        save(window, out / "vendor.png")
        await window.sessions.shutdown()

    return run_on_sandbox("paygo-vendor-shot-", "vendor", shoot, vendor_key=True)


async def send_every_step(dialog: Any) -> None:
    """Send each step of a transaction dialog (after its fee is shown) and close it once done."""
    while not dialog.state.is_final:
        await until(
            lambda: dialog.state.phase in ("review", "done", "failed", "cancelled") and not dialog._busy,
            "the transaction's fee estimate",
        )
        if dialog.state.phase == "review":
            dialog.send()
            await until(lambda: dialog.state.phase != "review", "the transaction to be sent")
    if dialog.state.phase != "done":
        raise RuntimeError(f"the transaction did not go through: {dialog.state.message}")
    dialog.reject()  # Close


async def request_job(page: Any, offer: str, brief: str) -> None:
    """The client requests ``offer`` on the Jobs page and locks its price (approval, then funding)."""
    from PySide6.QtCore import Qt

    starts = Qt.MatchFlag.MatchStartsWith
    if page.offer.findText(offer, flags=starts) < 0:
        page.load_offers()
        await until(lambda: page.offer.findText(offer, flags=starts) >= 0, "the job offers")
    page.offer.setCurrentIndex(page.offer.findText(offer, flags=starts))
    page.brief.setPlainText(brief)
    before = page.flow_dialog
    page.request_job()
    await until(lambda: page.flow_dialog is not before, "the job's funding dialog")
    await send_every_step(page.flow_dialog)


def jobs_main() -> int:
    """OUT_DIR/jobs.png (the client's Jobs page) and OUT_DIR/vendor-jobs.png (the Vendor page's Jobs tab).

    On the sandbox the test wallet requests the sandbox provider's "Proofread one page" job twice and locks
    each price; the provider's key (imported as "My provider") accepts the first on the Vendor page and
    delivers a file; the second is left for the vendor to answer. The client's page then shows the delivery
    to review (with the review window's reminder) and the funded job; the vendor's, both with their actions.
    """
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    delivery = Path(tempfile.mkdtemp(prefix="paygo-jobs-shot-")) / "cover-letter-proofread.txt"
    delivery.write_text("Dear Ms Lind,\n\nI am writing to apply for the post of translator…\n" * 8)

    async def shoot(window: Any, running: Any) -> None:
        page: Any = window.pages["jobs"]
        await until(lambda: page.loaded, "the Jobs page")
        await request_job(
            page,
            "Proofread one page",
            "Proofread my cover letter (one page); tracked changes please.",
        )
        await request_job(page, "Proofread one page", "Proofread the abstract of my thesis (250 words).")

        window.show_page("vendor")
        vendor: Any = window.pages["vendor"]
        vendor.refresh()
        vendor.connect_provider()
        await until(lambda: vendor.overview is not None, "the vendor overview")
        vendor.content.setCurrentWidget(vendor.jobs)
        panel = vendor.jobs
        await until(lambda: len(panel.jobs) == 2, "the vendor's jobs")
        letter = next(j.job_id for j in panel.jobs if "cover letter" in j.info.brief)
        panel.answer(letter, "accept")
        await until(
            lambda: any(j.job_id == letter and j.state == "accepted" for j in panel.jobs), "the acceptance"
        )
        panel.deliver_file(letter, delivery)
        await until(
            lambda: any(j.job_id == letter and j.state == "delivered" for j in panel.jobs), "the delivery"
        )
        await until(lambda: not window.runner.busy, "the vendor's reload")
        await asyncio.sleep(0.5)
        save(window, out / "vendor-jobs.png")

        window.show_page("jobs")
        page.reread()
        await until(lambda: any(v.state.value == "delivered" for v in page.views), "the client's view")
        await until(lambda: not window.runner.busy, "the Jobs page's reload")
        await asyncio.sleep(0.5)
        save(window, out / "jobs.png")

    return run_on_sandbox("paygo-jobs-shot-", "jobs", shoot, vendor_key=True)


def consultation_main() -> int:
    """OUT_DIR/consultation.png: a consultation session delivering its chat beside its meter."""
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)

    async def shoot(window: Any, running: Any) -> None:
        from paygo_desktop.sandbox.chat_access import read_chat_access
        from paygo_desktop.vendor.chat import relay

        access = read_chat_access(window.ctx.data_dir.sandbox_dir)
        assert access is not None, "the sandbox wrote its chat room's vendor side"
        answers: asyncio.Queue[str] = asyncio.Queue()
        heard: list[str] = []

        async def vendor_lines() -> Any:
            while True:
                yield await answers.get()

        vendor = asyncio.ensure_future(relay(access.url, access.secret, vendor_lines(), heard.append))
        await until(lambda: any(line.startswith("connected to") for line in heard), "the vendor")
        await start_session(window, running, "legal-consult")
        page = window.pages["sessions"]
        await until(lambda: len(page.meters) == 1, "the meter")
        view = next(iter(page.meters.values()))
        await until(lambda: view.open_button.isEnabled(), "the session's local proxy")
        view.open_button.click()
        chat = view.chat
        await until(lambda: chat is not None and chat.input.isEnabled(), "the chat")
        chat.input.setText("My landlord kept my deposit. Can I get it back?")
        chat.send()
        await until(lambda: any("landlord" in line for line in heard), "the question at the vendor")
        answers.put_nowait("Yes, unless there is damage beyond normal wear. Did you get an itemised list?")
        await until(lambda: any(line.startswith("Consultant: Yes") for line in chat.lines()), "the answer")
        chat.input.setText("No, nothing in writing.")
        chat.send()
        await until(lambda: any("nothing in writing" in line for line in heard), "the second question")
        answers.put_nowait("Then ask for it in writing first: they have 30 days to send it.")
        await until(lambda: any("30 days" in line for line in chat.lines()), "the second answer")
        await asyncio.sleep(4)  # a few ticks on the meter
        save(window, out / "consultation.png")
        await window.sessions.shutdown()
        vendor.cancel()  # the vendor's side of the chat (this script's): stopped and awaited
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await vendor

    return run_on_sandbox("paygo-consultation-shot-", "sessions", shoot)


if __name__ == "__main__":
    if "--consultation" in sys.argv:  # python scripts/screenshot_session.py --consultation [OUT_DIR]
        sys.argv.remove("--consultation")
        raise SystemExit(consultation_main())
    if "--vendor" in sys.argv:  # python scripts/screenshot_session.py --vendor [OUT_DIR]
        sys.argv.remove("--vendor")
        raise SystemExit(vendor_main())
    if "--jobs" in sys.argv:  # python scripts/screenshot_session.py --jobs [OUT_DIR]
        sys.argv.remove("--jobs")
        raise SystemExit(jobs_main())
    raise SystemExit(main())
