import os

from paygo_desktop.fileio import atomic_write_text


def test_atomic_write_replaces_whole_file_with_private_mode(tmp_path):
    path = tmp_path / "sub" / "f.json"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["f.json"]
