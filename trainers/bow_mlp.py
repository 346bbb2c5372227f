"""Bag-of-words MLP (DLwP ch. 11): multi-hot or tf-idf vector -> Dense 16 relu -> Dropout -> sigmoid
(a softmax over the classes for a multi-class label, common.classifier_output).

On one replica the vector is a tf.SparseTensor (trainers.features), so the first Dense layer
multiplies only a review's non-zero entries; on more it is dense (Keras 3 cannot split a sparse
input across replicas). hidden_units: 0 is logistic regression on the vector (with the
NB-weighted feature: Wang & Manning's NB-LR, the logistic-loss sibling of NBSVM).
"""
from __future__ import annotations

from typing import Literal, Optional

import keras
from pydantic import Field

from components import contract
from trainers import common, families, features


class Params(common.ClassifierParams):
  feature: Literal[tuple(features.BOW_FEATURES)] = Field(
      "unigram_multi_hot", description="the Transform's bag-of-words vector the model reads")
  hidden_units: int = Field(16, ge=0, description="0: no hidden layer (logistic regression)")
  dropout: float = Field(0.5, ge=0, lt=1)
  l2: float = Field(0.0, ge=0, description="L2 penalty of the first layer's kernel")
  steps_per_execution: int = Field(32, ge=1, description="training steps per call into the "
                                   "graph; one replica only (Keras 3 fails with more, "
                                   "keras-team/keras#19246: 1 there)")


def build_model(input_size: int, hidden_units: int = 16, dropout: float = 0.5,
                learning_rate: float = 0.001, l2: float = 0.0, sparse: bool = True,
                steps_per_execution: int = 1, classes: Optional[list] = None) -> keras.Model:
  """sparse=False: a dense input (the seed notebook's TextVectorization output, bench/).
  classes: the label vocabulary's class names (None: a binary 0/1 label)."""
  inputs = keras.Input(shape=(input_size,), sparse=sparse, name="bag_of_words")
  regularizer = keras.regularizers.L2(l2) if l2 else None
  if hidden_units:
    x = keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer)(inputs)
    x = keras.layers.Dropout(dropout)(x)
    outputs = common.classifier_output(x, classes)
  else:
    outputs = common.classifier_output(inputs, classes, kernel_regularizer=regularizer)
  model = keras.Model(inputs, outputs)
  model.compile(optimizer=keras.optimizers.RMSprop(learning_rate),
                loss=common.classifier_loss(classes),
                metrics=["accuracy"], steps_per_execution=steps_per_execution)
  return model


def run_fn(fn_args) -> keras.Model:
  """TFX Trainer entry point (TFX ignores the returned model; the multi-worker test reads it)."""
  config, strategy = common.setup(fn_args, Params)
  tft_output = common.load_transform_output(fn_args)
  size = features.bow_input_size(config.feature, tft_output)
  sparse = strategy.num_replicas_in_sync == 1  # see features.bow_featurizer
  featurize = features.bow_featurizer(config.feature, size, sparse)
  train, val = common.train_and_eval(fn_args, config, strategy, tft_output, featurize)
  with strategy.scope():
    model = build_model(size, config.hidden_units, config.dropout, config.learning_rate,
                        config.l2, sparse, common.steps_per_execution(
                            config.steps_per_execution, strategy),
                        contract.class_names(tft_output))
  common.fit(model, train, val, config, fn_args)
  common.export(strategy, model, tft_output, featurize, fn_args.serving_model_dir)
  return model


def check_run(params: Params, run) -> Optional[str]:
  if params.feature == "bigram_nb" and not run.nb_top_k:
    return "reads bigram_nb; set nb_top_k (> 0), the size of its n-gram vocabulary"
  if params.feature == "bigram_nb" and not isinstance(run.corpus, str):
    return ("reads bigram_nb, whose log-count ratios are of a binary 0/1 label; a corpus "
            "mapping's labels are classes: use another feature")
  return None


FAMILY = families.Family("bow_mlp", task="classification", params=Params, module=__name__,
                         describe=lambda p: p.feature, check_run=check_run)
