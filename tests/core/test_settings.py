import json
import os

from paygo_desktop.settings import Settings


def test_defaults_when_there_is_no_file(tmp_path):
    s = Settings.load(tmp_path / "settings.json")
    assert s.network == "sandbox"
    assert s.idle_lock_minutes == 10
    assert not (tmp_path / "settings.json").exists()


def test_save_and_load_round_trip_private_file(tmp_path):
    path = tmp_path / "settings.json"
    s = Settings.load(path)
    s.network = "base-sepolia"
    s.theme = "dark"
    s.save()
    assert os.stat(path).st_mode & 0o777 == 0o600
    again = Settings.load(path)
    assert (again.network, again.theme) == ("base-sepolia", "dark")


def test_keys_from_a_newer_version_survive_a_save(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"network": "base", "future_option": {"a": 1}}))
    s = Settings.load(path)
    s.idle_lock_minutes = 3
    s.save()
    data = json.loads(path.read_text())
    assert data["future_option"] == {"a": 1}
    assert data["idle_lock_minutes"] == 3


def test_corrupt_file_is_set_aside_not_lost(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    s = Settings.load(path)
    assert s.network == "sandbox"
    assert s.recovered_from is not None
    assert s.recovered_from.read_text() == "{not json"


def test_wrong_types_fall_back_to_defaults(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"idle_lock_minutes": "ten", "theme": "purple", "network": "base"}))
    s = Settings.load(path)
    assert s.idle_lock_minutes == 10
    assert s.theme == "system"
    assert s.network == "base"


def test_a_snapshot_older_than_the_one_on_disk_is_not_written(tmp_path):
    """The GUI writes in worker threads: whichever order they run in, the file ends with the last change."""
    path = tmp_path / "settings.json"
    s = Settings.load(path)
    s.theme = "dark"
    older = s.snapshot()
    s.theme = "light"
    newer = s.snapshot()
    assert s.write(newer)
    assert not s.write(older)  # late: left out
    assert Settings.load(path).theme == "light"
    s.idle_lock_minutes = 4
    s.save()  # a later change is written as usual
    assert (Settings.load(path).theme, Settings.load(path).idle_lock_minutes) == ("light", 4)
