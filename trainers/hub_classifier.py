"""Pretrained sentence encoder + small dense head (the seed's nnlm-en-dim50 and Universal
Sentence Encoder models): raw review text -> SavedModel encoder -> Dense 16 relu -> sigmoid.

The encoder is `hub_handle`: a TF-Hub URL (https://tfhub.dev/google/nnlm-en-dim50/2) or the path
of a TF2 SavedModel whose `__call__` maps a [batch] string tensor to [batch, dim] floats (TF-Hub's
reusable SavedModel API); `hub_trainable` fine-tunes its variables.

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
import os
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request

from typing import Optional

import keras
import tensorflow as tf
from pydantic import Field

from components import contract
from components.sentence_encoder.executor import ENCODER_DIR
from trainers import common, families, keras_multi_worker

TEXT_FEATURE = "text"  # components.preprocessing with custom_config keep_text


class Params(common.ClassifierParams):
  hub_handle: str = Field(min_length=1, description="a TF-Hub URL, the path of a TF2 "
                          "SavedModel text encoder (raw strings in), or a packaged encoder the "
                          "pipeline builds: " + ", ".join(contract.PACKAGED_ENCODERS) +
                          " (Universal Sentence Encoder multilingual v3, offline)")
  hub_trainable: bool = Field(False, description="fine-tune the encoder")
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


def build_model(handle: str, trainable: bool = False, hidden_units: int = 16,
                learning_rate: float = 0.001, classes: Optional[list] = None) -> keras.Model:
  inputs = keras.Input(shape=(), dtype="string", name=TEXT_FEATURE)
  x = hub_encoder(handle, trainable)(inputs)
  x = keras.layers.Dense(hidden_units, activation="relu")(x)
  outputs = common.classifier_output(x, classes)
  model = StringInputModel(inputs, outputs)
  model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                loss=common.classifier_loss(classes),
                metrics=["accuracy"])
  return model


def run_fn(fn_args) -> keras.Model:
  """TFX Trainer entry point (TFX ignores the returned model; the tests read it)."""
  config, strategy = common.setup(fn_args, Params)
  tft_output = common.load_transform_output(fn_args)
  if TEXT_FEATURE not in tft_output.transformed_feature_spec():
    raise ValueError(f"{fn_args.transform_output}: no transformed feature {TEXT_FEATURE!r}; "
                     "hub_classifier needs Transform's custom_config keep_text=True")
  # The encoder pads a batch to its longest text: batches of similar length (IMDB: 2.8x faster).
  train, val = common.train_and_eval(fn_args, config, strategy, tft_output, featurize,
                                     buckets=common.TextLengthBuckets(TEXT_FEATURE))
  with strategy.scope():
    model = build_model(encoder_handle(config), config.hub_trainable, config.hidden_units,
                        config.learning_rate, contract.class_names(tft_output))
  common.fit(model, train, val, config, fn_args)
  common.export(strategy, model, tft_output, featurize, fn_args.serving_model_dir)
  return model


FAMILY = families.Family(
    "hub_classifier", task="classification", params=Params, module=__name__,
    describe=lambda p: f"text, {'trainable' if p.hub_trainable else 'frozen'} encoder",
    transform_options={"keep_text": True}, uses_encoder=packaged_encoder)
