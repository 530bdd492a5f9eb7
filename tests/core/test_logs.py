import logging
import os
import stat

from paygo_desktop.logs import LOG_FILE_NAME, setup_logging, start_rotating

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
