import os
import shutil

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


def _push(tmp_path, base, blessed, model_dir=None):
  from tfx.proto import pusher_pb2
  from tfx.types import standard_artifacts
  from tfx.utils import path_utils, proto_utils
  model = standard_artifacts.Model()
  model.uri = model_dir or str(tmp_path / f"model-artifact{len(list(tmp_path.iterdir()))}")
  serving = path_utils.serving_model_path(model.uri)
  if not os.path.exists(serving):
    shutil.copytree(_model(tmp_path), serving)
  blessing = standard_artifacts.ModelBlessing()
  blessing.uri = str(tmp_path / "blessing")
  blessing.set_int_custom_property("blessed", int(blessed))
  pushed = standard_artifacts.PushedModel()
  pushed.uri = str(tmp_path / f"pushed{len(list(tmp_path.iterdir()))}")
  destination = pusher_pb2.PushDestination(
      filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=str(base)))
  executor.Executor().Do({"model": [model], "model_blessing": [blessing]},
                         {"pushed_model": [pushed]},
                         {"push_destination": proto_utils.proto_to_json(destination)})
  return model.uri, pushed


def test_executor_pushes_blessed_and_does_not_copy_the_same_model_twice(tmp_path):
  base = tmp_path / "serving" / "m"
  model_uri, first = _push(tmp_path, base, blessed=True)
  assert first.get_int_custom_property("pushed") == 1
  version = first.get_string_custom_property("pushed_version")
  assert sorted(os.listdir(base)) == sorted([version, executor.PUSH_LOG])
  _, again = _push(tmp_path, base, blessed=True, model_dir=model_uri)  # re-blessed, same model
  assert again.get_string_custom_property("pushed_version") == version
  assert sorted(v for v in os.listdir(base) if v.isdigit()) == [version]
  _, other = _push(tmp_path, base, blessed=True)  # a different model: a new version
  assert other.get_string_custom_property("pushed_version") != version
  assert len([v for v in os.listdir(base) if v.isdigit()]) == 2


def test_executor_does_not_push_unblessed_model(tmp_path):
  base = tmp_path / "serving" / "m"
  _, pushed = _push(tmp_path, base, blessed=False)
  assert pushed.get_int_custom_property("pushed") == 0
  assert not base.exists() or not [v for v in os.listdir(base) if v.isdigit()]
