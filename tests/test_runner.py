import multiprocessing

import pytest

from pipeline import runner


def _hold_lock(output_dir, ready, release):
  with runner.output_dir_lock(output_dir):
    ready.set()
    release.wait(30)


def test_second_run_on_same_output_dir_is_refused(tmp_path):
  ctx = multiprocessing.get_context("spawn")
  ready, release = ctx.Event(), ctx.Event()
  holder = ctx.Process(target=_hold_lock, args=(str(tmp_path), ready, release))
  holder.start()
  try:
    assert ready.wait(30)
    with pytest.raises(runner.RunLockedError, match=rf"pid {holder.pid}.*different output_dir"):
      with runner.output_dir_lock(str(tmp_path)):
        pass
    with runner.output_dir_lock(str(tmp_path / "other")):  # another output dir is fine
      pass
  finally:
    release.set()
    holder.join(30)
  with runner.output_dir_lock(str(tmp_path)):  # released when the first run ends
    pass
