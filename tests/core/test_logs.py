import logging
import os
import stat

from paygo_desktop.logs import LOG_FILE_NAME, setup_logging

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
