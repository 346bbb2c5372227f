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
  with pytest.raises(config.ConfigError, match=r"unknown model trainer for corpus imdb "
                     r"'resnet'.*bow_mlp"):
    config.load(str(path))


def test_trainer_of_another_task_is_an_error():
  with pytest.raises(config.ConfigError, match=r"trainer for corpus imdb 'char_rnn'; valid "
                     r"names: bow_mlp"):
    config.from_dict({"models": [{"name": "m", "trainer": "char_rnn"}]})


def test_packaged_configs_load_by_name():
  assert {"default", "shakespeare", "alice"} <= set(config.packaged_configs())
  shakespeare = config.load("shakespeare")
  assert shakespeare.task == "char_lm" and shakespeare.text.lowercase
  assert {m.stateful for m in shakespeare.models} == {False, True}
  assert config.load("alice").text.collapse_whitespace


def test_split_fractions_must_be_three_shares_summing_to_one():
  with pytest.raises(config.ConfigError, match="split_fractions"):
    config.from_dict({"corpus": "tinyshakespeare", "text": {"split_fractions": [0.9, 0.2, 0.1]},
                      "models": [{"name": "m", "trainer": "char_rnn"}]})


def test_unknown_corpus_lists_valid_names():
  with pytest.raises(config.ConfigError, match=r"unknown corpus 'imbd'.*imdb"):
    config.from_dict({"corpus": "imbd", "models": [{"name": "m"}]})
  with pytest.raises(config.ConfigError, match=r"unknown corpus 'treebank'; valid names: imdb, "
                     r"tinyshakespeare, alice"):  # registered, no pipeline yet
    config.from_dict({"corpus": "treebank", "models": [{"name": "m"}]})


def test_unknown_key_is_an_error():
  with pytest.raises(config.ConfigError, match=r"unknown key\(s\) \['epochz'\]"):
    config.from_dict({"models": [{"name": "m", "epochz": 3}]})


def test_yaml_is_parsed_safely(tmp_path):
  path = tmp_path / "c.yaml"
  path.write_text("corpus: !!python/object/apply:os.system ['echo pwned']\n")
  with pytest.raises(config.ConfigError, match="not valid YAML"):
    config.load(str(path))


def test_unknown_learning_rate_decay_names_the_model():
  with pytest.raises(config.ConfigError, match=r"models\[0\] \(lm\): unknown lr_decay 'linear'; "
                                               r"valid names: constant, cosine"):
    config.from_dict({"corpus": "alice",
                      "models": [{"name": "lm", "trainer": "char_rnn", "lr_decay": "linear"}]})
