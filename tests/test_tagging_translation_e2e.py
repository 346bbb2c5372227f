"""Tiny treebank and parallel-text corpora through the real pipeline (create_pipeline under
LocalDagRunner): the tagger blessed on TFMA token accuracy and the translators on TFMA BLEU, each
figure equal to the one recomputed from the pushed model; a translator below its BLEU floor is
not pushed."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from components import bleu, translation_preprocessing as tp
from components.parallel_example_gen import executor as parallel_executor
from components.parallel_example_gen import reader as parallel_reader
from components.treebank_example_gen import executor as treebank_executor
from components.treebank_example_gen import reader as treebank_reader
from pipeline import cli, config, report, runner, serving_client, translate
from tests import serving_checks
from tests.data import treebank
from tests.test_parallel_example_gen import write_pairs
from tests.test_translation_pipeline import _lines
from trainers import translator

pytestmark = pytest.mark.e2e
BEAM = {"direct_running_mode": "in_memory", "direct_num_workers": 1}
STRATEGY = {"name": "mirrored", "cpu_devices": 2}


def _leaderboard(cfg):
  return {r["model"]: r for r in report.leaderboard(cfg.output_dir)}


@pytest.fixture(scope="module")
def tagging(tmp_path_factory):
  root = tmp_path_factory.mktemp("tagging")
  data_dir = root / "data"
  data_dir.mkdir()
  trees = treebank.sentences(120, seed=2)
  treebank.write_zip(data_dir / "treebank.zip", {"wsj_0001.mrg": trees[:60],
                                                 "wsj_0002.mrg": trees[60:]})
  # GloVe-format vectors for the template words (made up here), in the data dir
  words = [*treebank.DETS, *treebank.NOUNS, *treebank.VERBS, "was", "."]
  rng = np.random.default_rng(2)
  (data_dir / "vectors.txt").write_text("".join(
      w + " " + " ".join(f"{v:.4f}" for v in rng.normal(size=4)) + "\n" for w in words))
  cfg = config.from_dict({
      "corpus": "treebank", "output_dir": str(root / "out"), "verify_checksums": False,
      "seed": 3, "sequence_length": 8, "beam": BEAM, "strategy": STRATEGY,
      "glove_source": "vectors.txt",
      "models": [{"name": "bigru", "trainer": "pos_tagger", "embedding_dim": 8, "units": 8,
                  "dropout": 0.1, "epochs": 3, "batch_size": 2, "learning_rate": 0.01,
                  "embedding": "learned+glove", "char_filters": 4, "char_embedding_dim": 4,
                  "accuracy_floor": 0.0}]})
  return cfg, runner.run_local(cfg, data_dir), data_dir / "treebank.zip", words


def test_tagger_is_pushed_and_its_tfma_token_accuracy_is_the_served_models(tagging, capsys):
  cfg, pushed, zip_path, words = tagging
  assert list(pushed) == ["bigru"]
  served = tf.saved_model.load(serving_client.resolve_version_dir(
      os.path.join(cfg.serving_dir, "bigru")))
  test = [s for s in treebank_reader.read_all(str(zip_path))
          if treebank_executor.assign_split(s.sentence_id, cfg.seed, 1 / 3, 0.1) == "test"]
  counts = served.signatures["from_examples"](examples=tf.constant(
      [treebank_executor.to_example(s).SerializeToString() for s in test]))
  expected = counts["correct"].numpy().sum() / sum(len(s.words) for s in test)
  row = _leaderboard(cfg)["bigru"]
  assert row["task"] == "tagging" and row["examples"] == len(test)
  assert row["feature"] == "word_ids, learned 8 + char CNN 4 + GloVe"
  assert row["value"] == pytest.approx(expected, abs=1e-6)
  # chars + GloVe tagger (a lookup table, 2 replicas) as TF Serving loads it: in a session
  sessions = serving_checks.session_outputs(
      serving_client.resolve_version_dir(os.path.join(cfg.serving_dir, "bigru")), {
          "serving_default": {"text": ["the dog saw a cat .", "a cat"]},
          "from_examples": {"examples": [treebank_executor.to_example(s).SerializeToString()
                                         for s in test[:4]]}})
  np.testing.assert_array_equal(sessions["from_examples"]["correct"],
                                counts["correct"].numpy()[:4])
  tags = serving_client.load(os.path.join(cfg.serving_dir, "bigru")).predict(
      ["the dog saw a cat ."])["tags"]
  assert tags.shape == (1, 8) and all(t != b"" for t in tags[0][:6])
  # the CLI prints one sentence's words and tags, as text, without the padding
  assert cli.main(["predict", "--model", os.path.join(cfg.serving_dir, "bigru"),
                   "the dog saw a cat ."]) == 0
  printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
  assert printed["words"] == ["the", "dog", "saw", "a", "cat", "."]
  assert printed["tags"] == [t.decode() for t in tags[0][:6]]
  with open(report.write(cfg.output_dir)) as f:
    text = f.read()
  assert f"All {len(words)} words of `{zip_path.parent / 'vectors.txt'}` (4-d)" in text


@pytest.fixture(scope="module")
def translation(tmp_path_factory):
  root = tmp_path_factory.mktemp("translation")
  data_dir = root / "data"
  data_dir.mkdir()
  write_pairs(data_dir / "spa-eng.zip", _lines())
  model = {"trainer": "translator", "cell": "gru", "bidirectional": True, "attention": True,
           "units": 8, "embedding_dim": 8, "epochs": 2, "batch_size": 1, "learning_rate": 0.01,
           "beam_width": 2}
  cfg = config.from_dict({
      "corpus": "spa_eng", "output_dir": str(root / "out"), "verify_checksums": False,
      "seed": 1, "split_fractions": [0.6, 0.2, 0.2], "source_length": 5, "target_length": 6,
      "beam": BEAM, "strategy": STRATEGY,
      "models": [{"name": "attention", **model, "bleu_floor": 0.0},
                 {"name": "unreachable", **model, "bleu_floor": 101.0}]})
  return cfg, runner.run_local(cfg, data_dir), data_dir / "spa-eng.zip"


def test_translator_tfma_bleu_is_sacrebleu_of_its_greedy_test_translations(translation):
  cfg, pushed, zip_path = translation
  assert list(pushed) == ["attention"]
  pairs = [(p.source, p.target) for p in parallel_reader.iter_pairs(str(zip_path), "spa_eng")
           if parallel_executor.split_of(p.source, cfg.split_fractions, cfg.seed) == "test"]
  sources, raw_references = translator.references_by_source(pairs)
  references = translator.standardized(raw_references)
  # greedy, as the Evaluator decodes (the model's own default is its beam of 2)
  hypotheses = translate.translate(os.path.join(cfg.serving_dir, "attention"), sources, beam=1)
  expected = bleu.corpus_bleu(hypotheses, references).score
  rows = _leaderboard(cfg)
  assert rows["attention"]["task"] == "translation"
  assert rows["attention"]["examples"] == len(pairs)
  assert rows["attention"]["value"] == pytest.approx(expected, abs=1e-4)
  assert set(rows["attention"]["bleu"]) >= {"greedy", "beam2", "samples"}  # the Trainer's
  # and the standard way: the detokenized output against the raw references (sacrebleu 13a)
  greedy = rows["attention"]["bleu"]["greedy"]
  expected_standard, signature = bleu.standard_bleu(translate.detokenize(hypotheses),
                                                    raw_references)
  assert greedy["standard_signature"] == signature and "tok:13a" in signature
  assert len(sources) < 1000  # bleu_examples: the Trainer decoded every test source
  assert greedy["standard_bleu"] == pytest.approx(expected_standard.score, abs=0.01)
  # the same model figures, but the floor of 101 BLEU is out of reach: evaluated, not pushed
  assert not rows["unreachable"]["blessed"] and rows["unreachable"]["pushed_version"] is None
  assert np.isfinite(rows["unreachable"]["value"])
  assert not os.path.exists(os.path.join(cfg.serving_dir, "unreachable"))


def test_translator_signatures_answer_in_the_session_loader_and_carry_its_decoding(translation):
  cfg, _, _ = translation
  version_dir = serving_client.resolve_version_dir(os.path.join(cfg.serving_dir, "attention"))
  sentences = ["I like soccer.", "Do you want bread?"]
  served = serving_checks.session_outputs(version_dir, {
      "serving_default": {"text": sentences},
      "encode": {"text": sentences},
      "decode_step": lambda out: {"token_id": np.full([2], tp.START_ID, np.int64),
                                  **out["encode"]},
      "vocabulary": {},
      "from_examples": {"examples": [serving_checks.raw_example(source=s, target="hola .")
                                     for s in sentences]}})
  assert served["decode_step"]["log_probs"].shape == (2, len(served["vocabulary"]["tokens"]))
  # the configured decoding (beam_width 2, the defaults' alpha 1 and no [UNK] penalty)
  vocabulary = served["vocabulary"]
  assert (int(vocabulary["beam_width"]), float(vocabulary["length_alpha"]),
          float(vocabulary["unk_penalty"])) == (2, 1.0, 0.0)
  assert translate.load(version_dir).decoding == translate.Decoding(2, 1.0, 0.0)
  assert translate.translate(version_dir, sentences) == translate.translate(
      version_dir, sentences, beam=2, alpha=1.0, unk_penalty=0.0)
  # serving_default: the greedy words, and the same words detokenized for a reader
  words = [t.decode() for t in served["serving_default"]["tokens"]]
  assert words == translate.translate(version_dir, sentences, beam=1)
  assert [t.decode() for t in served["serving_default"]["translation"]] == \
      translate.detokenize(words)


def _script(name: str, *args) -> str:
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  return subprocess.run([sys.executable, os.path.join(root, "scripts", name), *args],
                        capture_output=True, text=True, check=True, timeout=600).stdout


def test_translate_and_the_scripts_take_a_run_and_a_model_name(translation, tagging, capsys):
  cfg, _, _ = translation
  served = os.path.join(cfg.serving_dir, "attention")
  outputs = []
  for way in (["--model", served], ["--run", cfg.output_dir, "--model", "attention"]):
    assert cli.main(["translate", *way, "I like soccer.", "Do you want bread?"]) == 0
    outputs.append(capsys.readouterr().out)
  assert outputs[0] == outputs[1] and len(outputs[0].splitlines()) == 2
  for line in outputs[0].splitlines():
    printed = json.loads(line)
    assert printed["translation"] == translate.detokenize([printed["tokens"]])[0]
  assert cli.main(["translate", "--model", served, "--n-best", "3", "I like soccer."]) == 0
  (hypotheses,) = [json.loads(l)["n_best"] for l in capsys.readouterr().out.splitlines()]
  assert len(hypotheses) == 3 and len({h["tokens"] for h in hypotheses}) == 3
  scores = [h["score"] for h in hypotheses]
  assert scores == sorted(scores, reverse=True) and all(s <= 0 for s in scores)
  from pipeline import runs  # pylint: disable=import-outside-toplevel
  eval_split = runs.examples(cfg.output_dir, "eval")

  def sweep(*way):
    lines = _script("beam_sweep.py", *way, "--alphas", "0.7", "--limit", "5").splitlines()
    return [{k: v for k, v in json.loads(l).items() if k != "seconds"} for l in lines]
  assert sweep("--model", served, "--examples", eval_split) == sweep(
      "--run", cfg.output_dir, "--model", "attention") != []
  tagging_cfg = tagging[0]
  by_path = _script("tagger_errors.py", "--examples", runs.examples(tagging_cfg.output_dir, "test"),
                    "--transform-graph", runs.transform_graph(tagging_cfg.output_dir),
                    os.path.join(tagging_cfg.serving_dir, "bigru"))
  by_name = _script("tagger_errors.py", "--run", tagging_cfg.output_dir, "bigru")
  strip = lambda text: {k: v for k, v in json.loads(text).items() if k != "model"}  # noqa: E731
  assert strip(by_path) == strip(by_name) and strip(by_name)["words"] > 0

