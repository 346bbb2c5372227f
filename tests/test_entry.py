"""The `textzoo` entry point without the pinned stack (a plain `pip install .`): a clear error
saying what is missing and how to install it, not an ImportError."""
import importlib.util

from pipeline import entry


def test_missing_stack_is_a_clear_error(monkeypatch, capsys):
  real = importlib.util.find_spec
  monkeypatch.setattr(entry.importlib.util, "find_spec",
                      lambda name: None if name in ("tfx", "apache_beam") else real(name))
  assert entry.main(["--version"]) == 2
  err = capsys.readouterr().err
  assert "missing: tfx, apache_beam" in err and "make install" in err


def test_with_the_stack_it_runs_the_cli(capsys):
  assert entry.main(["corpora"]) == 0
  assert "aclImdb_v1.tar.gz" in capsys.readouterr().out
