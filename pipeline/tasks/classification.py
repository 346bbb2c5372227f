"""Text classification (IMDB, UCI sentences, sarcasm, and a user's own labelled texts): word/n-gram
features and word or subword ids from components.preprocessing; the Evaluator scores the raw test
split through the exported model's from_examples signature, blessed at accuracy_floor or above.
A built-in corpus's 0/1 label: binary accuracy, AUC and the confusion matrix. A generic corpus's
labels are classes (a TFT label vocabulary): accuracy and the confusion matrix, from which the
report has each class's precision, recall and F1 and the macro F1."""
from __future__ import annotations

from typing import Optional

from pydantic import Field

from components import contract
from pipeline import corpora, tasks


class Gate(tasks.Gate):
  accuracy_floor: float = Field(0.85, ge=0, description="not blessed (so not pushed) below "
                                "this test accuracy")


def _imdb(cfg, data_dir: str, file_name: str):
  from components.imdb_example_gen.component import ImdbExampleGen  # pylint: disable=import-outside-toplevel
  return ImdbExampleGen(input_base=data_dir, file_name=file_name, split_seed=cfg.seed,
                        eval_percent=cfg.eval_percent, sample_percent=cfg.sample_percent)


def _labelled_sentences(cfg, data_dir: str, corpus_format: str):
  from components.sentence_example_gen.component import SentenceExampleGen  # pylint: disable=import-outside-toplevel
  return SentenceExampleGen(input_base=data_dir, corpus_format=corpus_format,
                            split_fractions=cfg.split_fractions, split_seed=cfg.seed)


def _generic(cfg, data_dir: str, **settings):
  """A corpus mapping of labelled texts; its path made absolute (sources.py opens it as is)."""
  from components.sentence_example_gen.component import SentenceExampleGen  # pylint: disable=import-outside-toplevel
  path = corpora.generic_path(settings["path"], data_dir).absolute()
  return SentenceExampleGen(input_base=data_dir, source={**settings, "path": str(path)},
                            split_fractions=cfg.split_fractions, split_seed=cfg.seed)


class Classification(tasks.Task):
  name = "classification"
  label = "classification"
  metric = "test accuracy"
  value_key = "binary_accuracy"
  gate = Gate
  default_family = "bow_mlp"
  preprocessing_module = "components.preprocessing"
  # Only what the Trainers read: the Evaluator scores the raw test split through the model.
  transform_splits = ("train", "eval")
  readers = {"imdb_tarball": _imdb, "labelled_sentences": _labelled_sentences,
             corpora.GENERIC_READER: _generic}

  def check(self, cfg) -> Optional[str]:
    if not 0 < cfg.eval_percent < 100:
      return f"eval_percent must be in (0, 100), got {cfg.eval_percent}"
    if not 0 < cfg.sample_percent <= 100:
      return f"sample_percent must be in (0, 100], got {cfg.sample_percent}"
    return None

  def transform_config(self, cfg) -> dict:
    from trainers import families  # pylint: disable=import-outside-toplevel
    options = {}
    for model in cfg.models:  # what a family needs of the Transform (the hub encoder: the text)
      options.update(families.get(model.trainer).transform_options)
    return {"unigram_top_k": cfg.unigram_top_k, "bigram_top_k": cfg.bigram_top_k,
            "sequence_length": cfg.sequence_length, "subword_vocab_size": cfg.subword_vocab_size,
            "subword_sequence_length": cfg.subword_sequence_length,
            "nb_top_k": cfg.nb_top_k, "nb_ngrams": cfg.nb_ngrams, "nb_alpha": cfg.nb_alpha,
            "keep_text": bool(options.get("keep_text", False))}

  def eval_config(self, gate: Gate):
    import tensorflow_model_analysis as tfma  # pylint: disable=import-outside-toplevel
    threshold = tasks.gate_threshold({"lower_bound": {"value": gate.accuracy_floor}})
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name="from_examples", label_key="label",
                                    prediction_key="probabilities", model_type=tfma.TF_GENERIC)],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            tfma.MetricConfig(class_name="AUC"),
            tfma.MetricConfig(class_name="BinaryAccuracy", threshold=threshold),
            tfma.MetricConfig(class_name="ConfusionMatrixAtThresholds",
                              config='"thresholds": [0.5]'),
        ])])

  def run_eval_config(self, cfg, gate: Gate, data_dir: str):
    if cfg.corpus_entry.reader != corpora.GENERIC_READER:
      return self.eval_config(gate)
    return multiclass_eval_config(gate)

  def report_values(self, metrics: dict) -> dict:
    if "sparse_categorical_accuracy" in metrics:
      per_class = class_metrics(metrics.get("confusion") or {})
      return {"value": metrics["sparse_categorical_accuracy"], "per_class": per_class,
              "macro_f1": (sum(c["f1"] for c in per_class.values()) / len(per_class)
                           if per_class else None)}
    return {"value": metrics.get("binary_accuracy"), "auc": metrics.get("auc")}


def class_metrics(confusion: dict) -> dict:
  """class id -> precision, recall and F1 of TFMA's multi-class confusion matrix ({(true id,
  predicted id): examples}; predicted: the most probable class), for every class it holds."""
  ids = sorted({i for pair in confusion for i in pair if i >= 0})
  found = {}
  for c in ids:
    hits = confusion.get((c, c), 0)
    predicted = sum(n for (_, p), n in confusion.items() if p == c)
    actual = sum(n for (a, _), n in confusion.items() if a == c)
    precision = hits / predicted if predicted else 0.0
    recall = hits / actual if actual else 0.0
    found[c] = {"precision": precision, "recall": recall,
                "f1": 2 * precision * recall / (precision + recall) if hits else 0.0}
  return found


def multiclass_eval_config(gate: Gate):
  """Accuracy (gated) and the confusion matrix of the most probable class (MultiClassConfusion
  MatrixPlot; the report derives each class's precision, recall and F1 and the macro F1 from
  it); the label's id comes from the model's transform_features signature (the label
  vocabulary). TFMA's binarized Precision / Recall with top_k 1 per class id counted a class as
  predicted when it was in the top 2 (TFMA 0.47), so they are not used."""
  import tensorflow_model_analysis as tfma  # pylint: disable=import-outside-toplevel
  threshold = tasks.gate_threshold({"lower_bound": {"value": gate.accuracy_floor}})
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(signature_name="from_examples", label_key="label",
                                  prediction_key="probabilities", model_type=tfma.TF_GENERIC,
                                  preprocessing_function_names=[contract.TRANSFORM_SIGNATURE])],
      slicing_specs=[tfma.SlicingSpec()],
      metrics_specs=[tfma.MetricsSpec(metrics=[
          tfma.MetricConfig(class_name="ExampleCount"),
          tfma.MetricConfig(class_name="SparseCategoricalAccuracy", threshold=threshold),
          tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot")])])


TASK = Classification()
