import logging
import os
import stat

from paygo_desktop.logs import LOG_FILE_NAME, public_hex, scrub_every_handler, setup_logging, start_rotating

KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
WORDS = "test test test test test test test test test test test junk"


def test_log_file_in_the_data_dir_and_secrets_are_scrubbed(tmp_path):
    log_file = setup_logging(tmp_path / "logs")
    assert log_file == tmp_path / "logs" / LOG_FILE_NAME
    logger = logging.getLogger("paygo_desktop.test")
    logger.info("signing with %s", KEY)
    logger.warning("user typed 0x%s by mistake", KEY)
    logger.info("words were %s", WORDS)
    logger.info("address 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 is public")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text()
    assert KEY not in text
    assert WORDS not in text
    assert "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" in text
    assert text.count("[redacted") == 3


def test_the_log_file_is_readable_by_its_owner_only_like_the_database(tmp_path):
    old_umask = os.umask(0o022)
    try:
        log_file = setup_logging(tmp_path / "logs")
        logging.getLogger("paygo_desktop.test").info("written")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_paygo", False):
            handler.doRollover()  # type: ignore[attr-defined]
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    rotated = log_file.with_name(log_file.name + ".1")
    assert stat.S_IMODE(rotated.stat().st_mode) == 0o600


def _ours() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, "_paygo", False)]


def test_the_app_logs_before_its_paint_and_rotates_after_it_without_losing_a_line(tmp_path):
    """The app writes its first lines through a plain handler (log rotation's module is not loaded before
    the window paints) and hands the file to the rotating handler after: every line once, in order,
    scrubbed, 0600, and the rotating handler is the one left."""
    log_file = setup_logging(tmp_path / "logs", rotating=False)
    logger = logging.getLogger("paygo_desktop.test")
    logger.info("before the paint, key %s", KEY)
    (plain,) = _ours()
    assert not hasattr(plain, "doRollover")
    start_rotating()
    logger.info("after the paint")
    (rotating,) = _ours()
    assert plain.stream is None  # closed, not left open beside the new one
    rotating.flush()
    lines = [line.split(": ", 1)[1] for line in log_file.read_text().splitlines()]
    assert lines == ["before the paint, key [redacted hex]", "after the paint"]
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    rotating.doRollover()  # type: ignore[attr-defined]
    logger.info("in a fresh file")
    rotating.flush()
    assert log_file.with_name(log_file.name + ".1").read_text().count("\n") == 2
    assert log_file.read_text().endswith("in a fresh file\n")
    start_rotating()  # a second call changes nothing
    assert _ours() == [rotating]


TX = "0x" + "ab" * 32  # a transaction's hash: shaped like a private key


def _lines(log_file) -> list[str]:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return [line.split(": ", 1)[1] for line in log_file.read_text().splitlines()]


def test_a_hash_marked_public_is_logged_whole_and_everything_else_is_still_scrubbed(tmp_path):
    """A transaction's hash or a channel's id is 32 bytes of hex, as a private key is: passed as
    ``public_hex`` it is written whole, so a log can be followed on a block explorer; a key beside it in
    the same line, in the text or in another argument, is scrubbed as before."""
    log_file = setup_logging(tmp_path / "logs")
    logger = logging.getLogger("paygo_desktop.test")
    logger.info("sent deposit %s nonce %d", public_hex(TX), 7)
    logger.info("claimed %d channel(s) in %s", 2, public_hex(bytes.fromhex("cd" * 32)))
    logger.info("sent %s with key %s", public_hex(TX), KEY)
    logger.info("key %s then %s", KEY, public_hex(TX[2:]))
    logger.info(f"text with 0x{KEY} and %s", public_hex(TX))
    logger.info("unmarked %s", TX)
    assert _lines(log_file) == [
        f"sent deposit {TX} nonce 7",
        f"claimed 2 channel(s) in 0x{'cd' * 32}",
        f"sent {TX} with key [redacted hex]",
        f"key [redacted hex] then {TX}",
        f"text with [redacted hex] and {TX}",
        "unmarked [redacted hex]",
    ]


def test_with_debug_the_terminal_and_the_file_both_get_the_hash_whole(tmp_path, capfd):
    """``--debug`` adds a terminal handler with its own filter: the line the first filter wrote is not
    scrubbed again by the second (which would take the hash out of it)."""
    log_file = setup_logging(tmp_path / "logs", debug=True)
    try:
        logging.getLogger("paygo_desktop.test").info("rebroadcast %s (key %s)", public_hex(TX), KEY)
        assert _lines(log_file) == [f"rebroadcast {TX} (key [redacted hex])"]
        err = capfd.readouterr().err
        assert f"rebroadcast {TX} (key [redacted hex])" in err and KEY not in err
    finally:
        setup_logging(tmp_path / "logs")  # no handler left on the captured stderr, closed after this test


def test_the_providers_handlers_scrub_keys_too(capfd):
    """The reference provider logs to its terminal through ``logging.basicConfig``; it holds a key as well,
    so its handlers get the same filter (``scrub_every_handler``, called by ``provider.server``)."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = []
    try:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        scrub_every_handler()
        scrub_every_handler()  # twice adds nothing twice
        assert len(root.handlers[0].filters) == 1
        logging.getLogger("paygo_desktop.provider.test").info("key %s, tx %s", KEY, public_hex(TX))
        err = capfd.readouterr().err
        assert KEY not in err and f"key [redacted hex], tx {TX}" in err
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers = saved


def test_a_badly_formatted_line_is_written_without_its_arguments(tmp_path, capfd):
    """A log call whose arguments do not fit its format: logging would print the arguments, unscrubbed, to
    the terminal in its error report. The line is written with its text only, and nothing goes to stderr."""
    log_file = setup_logging(tmp_path / "logs")
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = _ours()  # pytest's own handlers raise on a bad format instead of reporting it
    try:
        logging.getLogger("paygo_desktop.test").info("two %s and %s", KEY)
    finally:
        root.handlers = saved
    assert _lines(log_file) == ["two %s and %s [arguments withheld: bad format]"]
    assert KEY not in capfd.readouterr().err
