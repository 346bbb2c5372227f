"""`textzoo check` (run's first step): config and input errors before any component runs."""
import os

import pytest

from pipeline import cli, config, corpora, runner
from tests import fixtures

MODELS = [{"name": "bow", "epochs": 1},
          {"name": "glove", "trainer": "rnn_classifier", "embedding": "glove", "units": 4}]


def _config(tmp_path, glove_source):
  return {"output_dir": str(tmp_path / "out"), "verify_checksums": False, "sequence_length": 8,
          "glove_source": glove_source, "models": MODELS}


@pytest.fixture
def data_dir(tmp_path):
  data = tmp_path / "data"
  data.mkdir()
  fixtures.write_tarball(str(data / "aclImdb_v1.tar.gz"))
  return data


@pytest.mark.parametrize("source, error, message", [
    ("glove.6B.50d.top100k.zip", corpora.CorpusError,  # a registry file: how to get it
     r"glove.6B.50d.top100k.zip is not in .*/data and has no download URL \(it is the first "
     r"100 000 lines of glove.6B.50d.txt"),
    ("mine.txt", config.ConfigError,
     r"glove_source 'mine.txt' \(a model uses embedding glove\): GloVe source .*/mine.txt: no "
     r"such file")])
def test_a_missing_glove_source_fails_before_any_component_runs(tmp_path, data_dir, source,
                                                                 error, message):
  cfg = config.from_dict(_config(tmp_path, source))
  with pytest.raises(error, match=message):
    runner.run_local(cfg, data_dir)
  assert not os.path.exists(cfg.output_dir)  # no lock, no metadata, no component ran


def test_check_prints_the_inputs_components_and_pushes(tmp_path, data_dir, capsys):
  (data_dir / "vectors.txt").write_text("film 0.1 0.2 0.3\ngreat 0.4 0.5 0.6\n")
  path = tmp_path / "run.yaml"
  import yaml  # pylint: disable=import-outside-toplevel
  path.write_text(yaml.safe_dump(_config(tmp_path, "vectors.txt")))
  assert cli.main(["check", "--config", str(path), "--data-dir", str(data_dir)]) == 0
  out = capsys.readouterr().out
  assert f"corpus imdb: {data_dir / 'aclImdb_v1.tar.gz'}" in out
  assert f"GloVe vectors (3-d): {data_dir / 'vectors.txt'}" in out
  assert "GloveEmbedding" in out and "Trainer.glove" in out and "Pusher.bow" in out
  assert f"glove -> {tmp_path / 'out' / 'serving' / 'glove'}/<version>" in out
  assert out.strip().endswith("check: OK")
  path.write_text("models: [{name: m, epochs: ten}]\n")
  assert cli.main(["check", "--config", str(path), "--data-dir", str(data_dir)]) == 2
  assert "models[0] (m): epochs: expected an integer, got 'ten'" in capsys.readouterr().err
