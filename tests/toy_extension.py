"""A corpus and a model family defined outside pipeline/, config.py and report.py, as a user
would: a corpus of an existing format (an IMDB-layout tarball under another name) and a
family (logistic regression on the unigram multi-hot vector). Registered, then run through the
real pipeline by tests/test_extending.py:

  python -c 'from tests import toy_extension; toy_extension.main()' <output_dir> <data_dir>

(Imported, not run with -m: the family's module must be tests.toy_extension, not __main__.)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import keras
from pydantic import Field

from pipeline import corpora
from trainers import common, families, features

CORPUS_FILE = "my_reviews.tar.gz"
corpora.register(corpora.Corpus(
    "my_reviews", "reviews in the aclImdb layout, under a name of their own",
    (corpora.CorpusFile(CORPUS_FILE, None, ()),), task="classification",
    reader="imdb_tarball", settings={"file_name": CORPUS_FILE}))


class Params(common.ClassifierParams):
  l2: float = Field(0.0, ge=0, description="L2 penalty of the weights")


def run_fn(fn_args) -> keras.Model:
  config, strategy = common.setup(fn_args, Params)
  tft_output = common.load_transform_output(fn_args)
  size = features.bow_input_size("unigram_multi_hot", tft_output)
  featurize = features.bow_featurizer("unigram_multi_hot", size)
  train, val = common.train_and_eval(fn_args, config, strategy, tft_output, featurize)
  with strategy.scope():
    inputs = keras.Input((size,), sparse=True)
    model = keras.Model(inputs, keras.layers.Dense(
        1, activation="sigmoid", kernel_regularizer=keras.regularizers.L2(config.l2))(inputs))
    model.compile(keras.optimizers.Adam(config.learning_rate), "binary_crossentropy",
                  metrics=["accuracy"])
  common.fit(model, train, val, config, fn_args)
  common.export(strategy, model, tft_output, featurize, fn_args.serving_model_dir)
  return model


FAMILY = families.register(families.Family(
    "logreg", task="classification", params=Params, module=__name__,
    describe=lambda p: f"unigram_multi_hot, L2 {p.l2}"))


def run_config(output_dir: str):
  from pipeline import config  # pylint: disable=import-outside-toplevel
  return config.from_dict({
      "corpus": "my_reviews", "output_dir": output_dir, "verify_checksums": False,
      "unigram_top_k": 100, "bigram_top_k": 100,
      "beam": {"direct_running_mode": "in_memory", "direct_num_workers": 1},
      "models": [{"name": "logreg", "trainer": "logreg", "epochs": 30, "batch_size": 4,
                  "learning_rate": 0.05, "l2": 0.001, "accuracy_floor": 0.0}]})


def main() -> None:
  from trainers import strategy  # pylint: disable=import-outside-toplevel
  strategy.configure_devices("mirrored", 1)
  from pipeline import runner  # pylint: disable=import-outside-toplevel
  print(json.dumps(runner.run_local(run_config(sys.argv[1]), Path(sys.argv[2]))))
