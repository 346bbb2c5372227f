import os

import pytest

from components.atomic_pusher import executor


def _model(tmp_path):
  src = tmp_path / f"model{len(list(tmp_path.iterdir()))}"
  (src / "variables").mkdir(parents=True)
  (src / "saved_model.pb").write_bytes(b"pb")
  (src / "variables" / "variables.index").write_bytes(b"idx")
  return str(src)


def test_push_creates_numeric_version_with_whole_model(tmp_path):
  base = tmp_path / "serving" / "m"
  final = executor.atomic_copy_version(_model(tmp_path), str(base), "100")
  assert final == str(base / "100")
  assert sorted(os.listdir(base)) == ["100"]
  assert (base / "100" / "variables" / "variables.index").read_bytes() == b"idx"


def test_crash_mid_copy_leaves_previous_version_only(tmp_path, monkeypatch):
  base = tmp_path / "serving" / "m"
  executor.atomic_copy_version(_model(tmp_path), str(base), "100")

  def copy_then_crash(src, dst, **_):
    os.makedirs(dst)
    open(os.path.join(dst, "saved_model.pb"), "wb").close()
    raise OSError("disk full")

  monkeypatch.setattr(executor.io_utils, "copy_dir", copy_then_crash)
  with pytest.raises(OSError, match="disk full"):
    executor.atomic_copy_version(_model(tmp_path), str(base), "200")
  assert sorted(os.listdir(base)) == ["100"]  # no half-written 200, no temp dir left


def test_existing_version_is_never_overwritten(tmp_path):
  base = tmp_path / "serving" / "m"
  executor.atomic_copy_version(_model(tmp_path), str(base), "100")
  with pytest.raises(FileExistsError):
    executor.atomic_copy_version(_model(tmp_path), str(base), "100")
