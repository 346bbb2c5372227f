"""Exports a trained Keras model with the Transform graph inside: raw strings in, predictions out.

TFT 1.16's transform_features_layer() is a tf_keras (Keras 2) object and cannot sit inside a
Keras 3 model, so a tf.Module holds both and its tf.functions are the SavedModel signatures:
  serving_default  text: [batch] raw strings          -> {name: [batch, ...]}
  from_examples    examples: [batch] serialized tf.Example with the raw features (for TFMA)

A module holds its Keras models through `hold_keras`, never as plain attributes: TF Serving,
`saved_model_cli run` and every TF1/C++ SavedModelBundle client restore a model by running the
MetaGraph's restore op, which only assigns the tf.Variables the module tracks. A Keras 3 model
or keras.Variable tracked instead saves fine and reloads with tf.saved_model.load, but in a
session its variables are never created ("Could not find variable dense_1/kernel";
tensorflow/serving#2250, keras-team/keras#20095). keras.export.ExportArchive tracks the backing
tf.Variables for the same reason.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Callable

import keras
import tensorflow as tf
# Registers the tensorflow_text ops (WordPiece) a transform graph may hold; tf.saved_model.load
# fails on an unregistered op, and TFT's own try-import of tensorflow_text comes after its load.
import tensorflow_text  # noqa: F401

from components import contract

TEXT_KEY = "text"
LABEL_KEY = "label"


def _dummy(spec, batch):
  """A placeholder for raw features the Transform graph reads but serving does not have."""
  if isinstance(spec, tf.io.FixedLenFeature):
    return tf.zeros(tf.concat([[batch], spec.shape], 0), spec.dtype) if spec.dtype != tf.string \
        else tf.fill(tf.concat([[batch], spec.shape], 0), "")
  return tf.sparse.from_dense(tf.zeros([batch, 0], spec.dtype))


def with_dummies(features: dict, raw_spec: dict, batch) -> dict:
  """features plus a placeholder for every other raw feature (label, offset, ...: not inputs to
  serving)."""
  return {**{k: _dummy(s, batch) for k, s in raw_spec.items() if k not in features}, **features}


def raw_features_from_text(text: tf.Tensor, raw_spec: dict, key: str = TEXT_KEY) -> dict:
  """[batch] strings as the raw feature `key` (in its spec's form), the others as placeholders."""
  spec = raw_spec[key]
  if isinstance(spec, tf.io.FixedLenFeature):
    text_feature = tf.reshape(text, [-1] + list(spec.shape) if spec.shape else [-1])
  else:
    text_feature = tf.sparse.from_dense(tf.reshape(text, [-1, 1]))
  return with_dummies({key: text_feature}, raw_spec, tf.shape(text)[0])


def backing_variables(models) -> list:
  """The tf.Variables (mirrored under a strategy) behind the Keras models' variables, each once.
  Not the optimizer's: a model's `variables` leave them out (rmsprop's slots would double an
  embedding's size on disk; Adam's triple it)."""
  seen, found = set(), []
  for model in models:
    for variable in model.variables:
      backing = variable.value if isinstance(variable, keras.Variable) else variable
      if id(backing) not in seen:
        seen.add(id(backing))
        found.append(backing)
  return found


def loaded_savedmodels(models) -> list:
  """The SavedModels that keras.layers.TFSMLayer layers of the models call (a hub encoder): their
  tables and assets must be tracked as well as their variables."""
  return [layer._reloaded_obj for model in models for layer in model._flatten_layers()  # pylint: disable=protected-access
          if isinstance(layer, keras.layers.TFSMLayer)]


def hold_keras(module: tf.Module, **models: keras.Model) -> None:
  """Sets each model as an untracked attribute of module and tracks their backing tf.Variables
  (see the module docstring). Call it again with all the models if a module holds several."""
  for name, model in models.items():
    object.__setattr__(module, name, model)
  module.model_variables = backing_variables(models.values())
  module.reused_savedmodels = loaded_savedmodels(models.values())


class ServingModule(tf.Module):

  """classes (a multi-class label's names in id order): serving_default also returns `classes`,
  [batch, classes] names beside the [batch, classes] probabilities (TF Serving's Classify
  layout), and a `transform_features` signature gives TFMA the label's id
  (ModelSpec.preprocessing_function_names)."""

  def __init__(self, model, tf_transform_output, featurize: Callable[[dict], tf.Tensor],
               output_name: str = "probabilities", classes=None):
    super().__init__()
    hold_keras(self, model=model)
    self.tft_layer = tf_transform_output.transform_features_layer()
    self._raw_spec = tf_transform_output.raw_feature_spec()
    self._featurize = featurize
    self._output_name = output_name
    self.class_names = None if classes is None else tf.constant(list(classes), tf.string)
    if classes is not None:  # only then: saving traces every tf.function a module holds
      self.transform_labels = tf.function(
          self._transform_labels,
          input_signature=[tf.TensorSpec([None], tf.string, name="examples")])

  def _predict(self, raw: dict) -> dict:
    transformed = self.tft_layer(raw)
    outputs = self.model(self._featurize(transformed), training=False)
    if outputs.shape.rank == 2 and outputs.shape[-1] == 1:
      outputs = tf.reshape(outputs, [-1])
    if self.class_names is None:
      return {self._output_name: outputs}
    names = tf.tile(self.class_names[tf.newaxis], [tf.shape(outputs)[0], 1])
    return {self._output_name: outputs, "classes": names}

  def _transform_labels(self, examples):
    """Serialized tf.Examples with their raw label -> {label: [batch] id} (for TFMA)."""
    raw = tf.io.parse_example(examples, {TEXT_KEY: self._raw_spec[TEXT_KEY],
                                         LABEL_KEY: self._raw_spec[LABEL_KEY]})
    return {LABEL_KEY: tf.reshape(self.tft_layer(raw)[LABEL_KEY], [-1])}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
  def serve_text(self, text):
    return self._predict(raw_features_from_text(text, self._raw_spec))

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
  def serve_examples(self, examples):
    raw = tf.io.parse_example(examples, {TEXT_KEY: self._raw_spec[TEXT_KEY]})
    if LABEL_KEY in self._raw_spec:  # the answer is not an input to serving
      raw[LABEL_KEY] = _dummy(self._raw_spec[LABEL_KEY], tf.shape(examples)[0])
    return self._predict(raw)


def signatures(module: ServingModule) -> dict:
  found = {"serving_default": module.serve_text.get_concrete_function(),
           "from_examples": module.serve_examples.get_concrete_function()}
  if module.class_names is not None:
    found[contract.TRANSFORM_SIGNATURE] = module.transform_labels.get_concrete_function()
  return found


def export(module: tf.Module, serving_model_dir: str, signatures_fn=signatures) -> None:
  """Saves to a temp dir beside the destination, then renames: never a half-written model."""
  parent = os.path.dirname(os.path.abspath(serving_model_dir))
  os.makedirs(parent, exist_ok=True)
  tmp = tempfile.mkdtemp(prefix=".tmp-export-", dir=parent)
  os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; the model must be readable by a model server
  try:
    tf.saved_model.save(module, tmp, signatures=signatures_fn(module))
    if os.path.exists(serving_model_dir):
      shutil.rmtree(serving_model_dir)
    os.replace(tmp, serving_model_dir)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
