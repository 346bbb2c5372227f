"""ParallelExampleGen -> StatisticsGen -> SchemaGen -> Transform on a tiny synthetic corpus, then
the translator's run_fn (2 replicas), its served signatures and its BLEU file."""
import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft

from components import translation_preprocessing as tp
from components.parallel_example_gen.component import ParallelExampleGen
from pipeline import translate
from tests import fixtures
from tests.test_parallel_example_gen import write_pairs
from trainers import translator

NOUNS = {"cats": "gatos", "dogs": "perros", "soccer": "fútbol", "books": "libros", "tea": "té",
         "music": "música", "rain": "lluvia", "bread": "pan"}
VERBS = {"I like": "Me gusta", "I see": "Veo", "We want": "Queremos", "Do you want": "¿Quieres"}


def _lines():
  lines = []
  for verb, verbo in VERBS.items():
    for noun, sustantivo in NOUNS.items():
      question = verb.startswith("Do")
      lines.append(f"{verb} {noun}{'?' if question else '.'}\t{verbo} {sustantivo}"
                   f"{'?' if question else '.'}\tCC-BY 2.0 (France) Attribution: tatoeba.org")
  lines.append("I like cats.\tMe gustan los gatos.")  # a second translation of one source
  return lines


@pytest.fixture(scope="module")
def transformed(tmp_path_factory):
  root = tmp_path_factory.mktemp("translation")
  data = root / "data"
  data.mkdir()
  write_pairs(data / "spa-eng.zip", _lines())
  from tfx import v1 as tfx  # pylint: disable=import-outside-toplevel
  gen = ParallelExampleGen(input_base=str(data), corpus_format="spa_eng",
                           split_fractions=[0.6, 0.2, 0.2], split_seed=1)
  statistics = tfx.components.StatisticsGen(examples=gen.outputs["examples"])
  schema = tfx.components.SchemaGen(statistics=statistics.outputs["statistics"])
  transform = tfx.components.Transform(
      examples=gen.outputs["examples"], schema=schema.outputs["schema"],
      preprocessing_fn="components.translation_preprocessing.preprocessing_fn",
      custom_config={"source_length": 5, "target_length": 6, "target_top_k": 12})
  fixtures.run_local(root, [gen, statistics, schema, transform])
  return root, str(root / "root" / "Transform")


def _rows(transform_dir, split):
  files = glob.glob(os.path.join(transform_dir, "transformed_examples", "*", f"Split-{split}",
                                 "*"))
  output = tft.TFTransformOutput(glob.glob(os.path.join(transform_dir, "transform_graph", "*"))[0])
  spec = output.transformed_feature_spec()
  ds = tf.data.TFRecordDataset(files, compression_type="GZIP").map(
      lambda r: tf.io.parse_single_example(r, spec))
  return output, [{k: v.numpy() for k, v in row.items()} for row in ds]


def test_transform_ids_vocabularies_and_split(transformed):
  _, transform_dir = transformed
  output, train = _rows(transform_dir, "train")
  rows = {s: _rows(transform_dir, s)[1] for s in ("eval", "test")} | {"train": train}
  assert sum(len(r) for r in rows.values()) == len(_lines())
  assert all(rows.values())
  sources = {s: {r["source"] for r in rs} for s, rs in rows.items()}
  assert not sources["train"] & (sources["eval"] | sources["test"])  # split by source
  source_vocab = tp.vocabulary(output, "source")
  target_vocab = tp.vocabulary(output, "target")
  assert len(target_vocab) == len(tp.RESERVED) + 12  # target_top_k
  assert "." in source_vocab and "?" in source_vocab and "cats." not in source_vocab
  for row in train:
    words = tf.constant([row["target"]])
    expected = tp.standardize(words).numpy()[0].decode().split(" ")
    ids = [target_vocab.index(w) if w in target_vocab else tp.UNK_ID for w in expected]
    ids = (ids + [tp.END_ID])[:6]
    assert list(row["decoder_target_ids"][:len(ids)]) == ids
    assert not row["decoder_target_ids"][len(ids):].any()
    assert list(row["decoder_input_ids"][:len(ids)]) == [tp.START_ID] + ids[:-1]
    source = tp.standardize(tf.constant([row["source"]])).numpy()[0].decode().split(" ")
    assert [source_vocab[i] for i in row["source_ids"] if i] == source[:5]
  assert any(tp.UNK_ID in r["decoder_target_ids"] for r in train)  # 12 words leave some out


def test_run_fn_trains_exports_and_scores_bleu(transformed):
  root, transform_dir = transformed
  out = root / "trainer"
  config = {"model_name": "attention", "bidirectional": True, "attention": True, "units": 8,
            "embedding_dim": 8, "epochs": 2, "batch_size": 1, "strategy": "mirrored",
            "cpu_devices": 2, "beam_width": 2, "learning_rate": 0.01, "unk_penalty": 100.0}
  fn_args = fixtures.trainer_fn_args(transform_dir, config, out)
  model = translator.run_fn(fn_args)
  assert model.distribute_strategy.num_replicas_in_sync == 2
  result = json.load(open(out / "model_run" / translator.BLEU_FILE))
  _, test = _rows(transform_dir, "test")
  assert result["sources"] == len({r["source"] for r in test})
  assert result["references"] == len(test)
  for name in ("greedy", "beam2"):
    assert 0 <= result[name]["bleu"] <= 100
  # The served model: Python greedy over encode/decode_step equals the in-graph greedy (both
  # with the configured unk_penalty, which keeps [UNK] out), and beam width 1 is greedy.
  sentences = ["I like soccer.", "Do you want bread?", "I like unknown things."]
  served = tf.saved_model.load(str(out / "serving"))
  graph = [t.decode() for t in
           served.signatures["serving_default"](text=tf.constant(sentences))["tokens"].numpy()]
  assert not any("[UNK]" in t for t in graph)
  loaded = translate.load(str(out / "serving"))
  assert loaded.translate(sentences, unk_penalty=100.0) == graph
  assert translate.translate(str(out / "serving"), sentences, beam=1, unk_penalty=100.0) == graph
  # the configured decoding travels with the model: beam 2, alpha 1, penalty 100
  assert loaded.decoding == translate.Decoding(beam=2, alpha=1.0, unk_penalty=100.0)
  assert translate.translate(str(out / "serving"), sentences) == loaded.translate(
      sentences, beam=2, alpha=1.0, unk_penalty=100.0)
  beams = translate.translate(str(out / "serving"), sentences, beam=3)
  assert len(beams) == 3 and all(isinstance(b, str) for b in beams)
  with pytest.raises(ValueError, match="beam must be >= 1"):
    translate.translate(str(out / "serving"), sentences, beam=0)
  # The beam result scores at least as well as greedy under the model (length-normalised).
  encoded = loaded.encode(sentences[:1])
  ids_greedy = loaded.translate_ids(sentences[:1])[0]
  ids_beam = loaded.translate_ids(sentences[:1], beam=3)[0]

  def score(ids):
    state, total = dict(encoded), 0.0
    for previous, word in zip([tp.START_ID] + ids, ids + [tp.END_ID]):
      log_probs, state = loaded._step(np.array([previous]), state)  # pylint: disable=protected-access
      total += log_probs[0, word]
    return total / (len(ids) + 1)

  if len(ids_greedy) < loaded.max_length and len(ids_beam) < loaded.max_length:
    assert score(ids_beam) >= score(ids_greedy) - 1e-6
