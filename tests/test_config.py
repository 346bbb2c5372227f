import pytest

from pipeline import config


def test_default_config_is_imdb_with_three_bow_models():
  cfg = config.load()
  assert cfg.corpus == "imdb"
  assert [(m.name, m.feature) for m in cfg.models] == [
      ("bow_unigram_binary", "unigram_multi_hot"),
      ("bow_bigram_binary", "bigram_multi_hot"),
      ("bow_bigram_tfidf", "bigram_tfidf")]
  assert cfg.strategy.name == "mirrored"
  assert "--direct_running_mode=multi_processing" in cfg.beam_args()


def test_unknown_trainer_lists_valid_names(tmp_path):
  path = tmp_path / "c.yaml"
  path.write_text("models: [{name: m, trainer: resnet}]\n")
  with pytest.raises(config.ConfigError, match=r"unknown model trainer 'resnet'.*bow_mlp"):
    config.load(str(path))


def test_unknown_corpus_lists_valid_names():
  with pytest.raises(config.ConfigError, match=r"unknown corpus 'imbd'.*imdb"):
    config.from_dict({"corpus": "imbd", "models": [{"name": "m"}]})
  with pytest.raises(config.ConfigError, match=r"unknown corpus 'alice'; valid names: imdb"):
    config.from_dict({"corpus": "alice", "models": [{"name": "m"}]})  # registered, no pipeline yet


def test_unknown_key_is_an_error():
  with pytest.raises(config.ConfigError, match=r"unknown key\(s\) \['epochz'\]"):
    config.from_dict({"models": [{"name": "m", "epochz": 3}]})


def test_yaml_is_parsed_safely(tmp_path):
  path = tmp_path / "c.yaml"
  path.write_text("corpus: !!python/object/apply:os.system ['echo pwned']\n")
  with pytest.raises(config.ConfigError, match="not valid YAML"):
    config.load(str(path))
