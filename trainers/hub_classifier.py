"""Pretrained sentence encoder + small dense head (the seed's nnlm-en-dim50 and Universal
Sentence Encoder models): raw review text -> SavedModel encoder -> Dense 16 relu -> sigmoid.

The encoder is `hub_handle`: a TF-Hub URL (https://tfhub.dev/google/nnlm-en-dim50/2) or the path
of a TF2 SavedModel whose `__call__` maps a [batch] string tensor to [batch, dim] floats (TF-Hub's
reusable SavedModel API); `hub_trainable` fine-tunes its variables. A frozen encoder gives a text
the same vector every epoch, so each split is encoded once and only the head trains on the
vectors (fit_frozen); the model exported is text -> encoder -> head either way.

Why not hub.KerasLayer, as the seed did: tensorflow-hub 0.15 (TFX 1.16 pins < 0.16) does not
import on TF 2.16 (its __init__ imports tf.compat.v1.estimator, removed in 2.16), and its
KerasLayer subclasses tf.keras.layers.Layer -- Keras 3 here -- but registers the encoder's
variables with Keras 2's add_weight(getter=...), which Keras 3 lacks (tensorflow/hub#903, open).
Hub 0.16 makes it a tf_keras layer, which cannot sit in a Keras 3 model, and a whole tf_keras
model would need its own fit, callbacks and export beside trainers.common. So the encoder is
Keras 3's own layer for a TF SavedModel, keras.layers.TFSMLayer, on the function hub.KerasLayer
calls (`__call__`): it loads the SavedModel and tracks every variable that function reads as a
Keras variable wrapping the loaded one (not a copy). The optimizer therefore trains the encoder
when the layer is trainable and leaves it alone when not, EarlyStopping's get/set_weights cover
it, and the export saves the fine-tuned values; built under the strategy scope, the loaded
variables are mirrored. Of the rest of hub.KerasLayer: URL handles are resolved here (`resolve`,
TF-Hub's download protocol and cache); a `training` argument and regularization_losses of the
SavedModel are not passed on (an encoder with dropout runs in inference mode while fine-tuned).

Keras 3.15 builds a model under MirroredStrategy from the mean of its first batch over the
replicas, which fails on strings; StringInputModel builds from one replica's batch instead.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request

from typing import Optional

import keras
import numpy as np
import tensorflow as tf
from pydantic import Field

from components import contract
from components.sentence_encoder.executor import ENCODER_DIR
from trainers import common, families, keras_multi_worker

TEXT_FEATURE = "text"  # components.preprocessing with custom_config keep_text
ENCODE_BATCH = 64  # texts per call of a frozen encoder (fit_frozen)


class Params(common.ClassifierParams):
  hub_handle: str = Field(min_length=1, description="a TF-Hub URL, the path of a TF2 "
                          "SavedModel text encoder (raw strings in), or a packaged encoder the "
                          "pipeline builds: " + ", ".join(contract.PACKAGED_ENCODERS) +
                          " (Universal Sentence Encoder multilingual v3, offline)")
  hub_trainable: bool = Field(False, description="fine-tune the encoder; false: each split is "
                              "encoded once and the head trains on the vectors")
  hidden_units: int = Field(16, ge=1)


def resolve(handle: str) -> str:
  """A handle -> a SavedModel directory, as tensorflow_hub.resolve does: an http(s) handle is
  downloaded once as <handle>?tf-hub-format=compressed (a .tar.gz of the SavedModel) into
  $TFHUB_CACHE_DIR (default <tmp>/tfhub_modules)/<sha1 of handle>; a path is returned as is."""
  if not handle.startswith(("http://", "https://")):
    return handle
  cache = os.environ.get("TFHUB_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "tfhub_modules")
  target = os.path.join(cache, hashlib.sha1(handle.encode("utf8")).hexdigest())
  if os.path.exists(os.path.join(target, "saved_model.pb")):
    return target
  os.makedirs(cache, exist_ok=True)
  tmp = tempfile.mkdtemp(prefix=".tmp-", dir=cache)
  url = urllib.parse.urlparse(handle)
  query = urllib.parse.urlencode(
      urllib.parse.parse_qsl(url.query) + [("tf-hub-format", "compressed")])
  try:
    with urllib.request.urlopen(url._replace(query=query).geturl(), timeout=600) as response:
      with tarfile.open(fileobj=response, mode="r|gz") as tar:
        tar.extractall(tmp, filter="data")
    if not os.path.exists(os.path.join(tmp, "saved_model.pb")):
      raise ValueError(f"hub handle {handle}: the download has no saved_model.pb at its root")
    shutil.rmtree(target, ignore_errors=True)  # an incomplete earlier download
    os.replace(tmp, target)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  return target


def hub_encoder(handle: str, trainable: bool = False) -> keras.layers.TFSMLayer:
  """The encoder's `__call__` as a Keras 3 layer (see the module docstring)."""
  return keras.layers.TFSMLayer(resolve(handle), call_endpoint="__call__", trainable=trainable,
                                name="hub_encoder")


class StringInputModel(keras.Model):
  """A functional model that Keras can build from a batch of strings under MirroredStrategy."""

  def _maybe_symbolic_build(self, iterator=None, data_batch=None):
    if self._distribute_strategy is None or iterator is None:
      return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
    return keras_multi_worker.build_from_replica_batch(self, iterator)


def packaged_encoder(params: Params):
  return params.hub_handle if params.hub_handle in contract.PACKAGED_ENCODERS else None


def encoder_handle(config: Params) -> str:
  """The handle to load: a packaged encoder is the SentenceEncoder artifact's SavedModel."""
  if not packaged_encoder(config):
    return config.hub_handle
  if not config.encoder_uri:
    raise ValueError(f"model {config.model_name}: hub_handle {config.hub_handle!r} is built by "
                     "the pipeline's SentenceEncoder step; run it through the pipeline (no "
                     "encoder_uri was given)")
  return os.path.join(config.encoder_uri, ENCODER_DIR)


def featurize(transformed: dict) -> tf.Tensor:
  return tf.reshape(transformed[TEXT_FEATURE], [-1])


def build_head(dim: int, hidden_units: int, classes: Optional[list]) -> keras.Model:
  """The seed's head on an encoded text: [batch, dim] -> Dense(hidden_units, relu) -> output."""
  vectors = keras.Input(shape=(dim,), name="encoded")
  x = keras.layers.Dense(hidden_units, activation="relu")(vectors)
  return keras.Model(vectors, common.classifier_output(x, classes), name="head")


def compile_classifier(model: keras.Model, learning_rate: float, classes: Optional[list]):
  model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                loss=common.classifier_loss(classes), metrics=["accuracy"])
  return model


def text_model(encoder, hidden_units: int, classes: Optional[list],
               head: Optional[keras.Model] = None) -> keras.Model:
  """Raw text -> encoder -> head (a new one, or the given trained one), compiled by the caller."""
  inputs = keras.Input(shape=(), dtype="string", name=TEXT_FEATURE)
  x = encoder(inputs)
  head = head or build_head(x.shape[-1], hidden_units, classes)
  return StringInputModel(inputs, head(x))


def encode_split(encoder, fn_args, files, tft_output, split: str) -> tuple[np.ndarray, np.ndarray]:
  """Every text of the split through the encoder once, in batches of similar length: its
  vectors [n, dim] and labels [n]."""
  texts = common.dataset(fn_args, files, tft_output, ENCODE_BATCH, featurize, shuffle=False,
                         seed=0, drop_remainder=False,
                         buckets=common.TextLengthBuckets(TEXT_FEATURE))
  batches, vectors, labels = int(texts.cardinality()), [], []
  start = last_log = time.monotonic()
  for i, (text, label) in enumerate(texts):
    vectors.append(encoder(text).numpy())
    labels.append(label.numpy())
    if time.monotonic() - last_log > 30 or i + 1 == batches:
      last_log = time.monotonic()
      logging.info("encoded %s: batch %d of %d (%d texts) in %.0f s", split, i + 1, batches,
                   sum(len(v) for v in vectors), last_log - start)
  return np.concatenate(vectors), np.concatenate(labels)


def vector_dataset(vectors: np.ndarray, labels: np.ndarray, batch: int, shuffle: bool,
                   seed: int, drop_remainder: bool, split: str) -> tf.data.Dataset:
  if len(vectors) < batch and drop_remainder:
    raise ValueError(f"the {split} split has {len(vectors)} texts, fewer than one batch of "
                     f"{batch}; lower the batch size")
  ds = tf.data.Dataset.from_tensor_slices((vectors, labels))
  if shuffle:
    ds = ds.shuffle(len(vectors), seed=seed, reshuffle_each_iteration=True)
  return common.shard_by_batch(ds.batch(batch, drop_remainder=drop_remainder).prefetch(
      tf.data.AUTOTUNE))


def fit_frozen(fn_args, config: Params, strategy, tft_output, classes) -> keras.Model:
  """A frozen encoder gives each text the same vector every epoch, so each split is encoded
  once and the head trains on the vectors (DLwP's fast feature extraction): an epoch costs the
  head's steps, not the encoder's pass (IMDB: 6 min). The model returned is text -> encoder ->
  that head, as a trainable model is."""
  with strategy.scope():
    encoder = hub_encoder(encoder_handle(config))
  train_x, train_y = encode_split(encoder, fn_args, fn_args.train_files, tft_output, "train")
  val_x, val_y = encode_split(encoder, fn_args, fn_args.eval_files, tft_output, "eval")
  batch = config.batch_size * strategy.num_replicas_in_sync
  multi = strategy.num_replicas_in_sync > 1
  train = vector_dataset(train_x, train_y, batch, True, config.seed, True, "train")
  val = vector_dataset(val_x, val_y, batch, False, config.seed, multi, "eval")
  with strategy.scope():
    head = compile_classifier(build_head(train_x.shape[1], config.hidden_units, classes),
                              config.learning_rate, classes)
  common.fit(head, train, val, config, fn_args)
  with strategy.scope():
    return compile_classifier(text_model(encoder, config.hidden_units, classes, head),
                              config.learning_rate, classes)


def run_fn(fn_args) -> keras.Model:
  """TFX Trainer entry point (TFX ignores the returned model; the tests read it)."""
  config, strategy = common.setup(fn_args, Params)
  tft_output = common.load_transform_output(fn_args)
  if TEXT_FEATURE not in tft_output.transformed_feature_spec():
    raise ValueError(f"{fn_args.transform_output}: no transformed feature {TEXT_FEATURE!r}; "
                     "hub_classifier needs Transform's custom_config keep_text=True")
  classes = contract.class_names(tft_output)
  if not config.hub_trainable:
    model = fit_frozen(fn_args, config, strategy, tft_output, classes)
  else:
    # The encoder pads a batch to its longest text: batches of similar length (IMDB: 2.8x faster).
    train, val = common.train_and_eval(fn_args, config, strategy, tft_output, featurize,
                                       buckets=common.TextLengthBuckets(TEXT_FEATURE))
    with strategy.scope():
      model = compile_classifier(text_model(hub_encoder(encoder_handle(config), True),
                                            config.hidden_units, classes),
                                 config.learning_rate, classes)
    common.fit(model, train, val, config, fn_args)
  common.export(strategy, model, tft_output, featurize, fn_args.serving_model_dir)
  return model


FAMILY = families.Family(
    "hub_classifier", task="classification", params=Params, module=__name__,
    describe=lambda p: f"text, {'trainable' if p.hub_trainable else 'frozen'} encoder",
    transform_options={"keep_text": True}, uses_encoder=packaged_encoder)
