"""Chooses a translator's beam length_alpha on the eval split (never the test split):
corpus BLEU of greedy and beam-k decoding for each alpha, over the first `--limit` unique eval
sources (trainers.translator.references_by_source: sha256 order).

  .venv/bin/python scripts/beam_sweep.py --model runs/spa_eng/pipeline/Trainer.X/model/N/Format-Serving \
      --examples 'runs/spa_eng/pipeline/ParallelExampleGen/examples/M/Split-eval/*' --alphas 0.4,0.7,1.0 --unk-penalties 0,inf
  .venv/bin/python scripts/beam_sweep.py --run runs/spa_eng --model bilstm_attention --alphas 0.7
"""
from __future__ import annotations

import argparse
import json
import time

from components import bleu
from pipeline import runs, translate
from trainers import translator as translator_lib


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  runs.add_arguments(parser, "Format-Serving or serving dir")
  parser.add_argument("--split", default="eval", help="with --run: the split (default eval)")
  parser.add_argument("--examples", help="glob of the eval split's TFRecords (with --run: the "
                      "run's raw examples of --split)")
  parser.add_argument("--beam", type=int, default=3)
  parser.add_argument("--alphas", default="0.4,0.7,1.0")
  parser.add_argument("--unk-penalties", default="0",
                      help="subtracted from [UNK]'s log-probability; 'inf' never emits it")
  parser.add_argument("--limit", type=int, default=1000)
  args = parser.parse_args()
  if not args.examples and not args.run:
    parser.error("give --examples, or --run (and --split)")
  model = translate.load(runs.resolve_model(args))
  examples = args.examples or runs.examples(args.run, args.split)
  sources, references = translator_lib.references_by_source(
      translator_lib.read_pairs([examples]), args.limit)
  references = translator_lib.standardized(references)
  penalties = [float(p) for p in args.unk_penalties.split(",")]
  settings = [(1, 1.0, p) for p in penalties] + [
      (args.beam, float(a), p) for a in args.alphas.split(",") for p in penalties]
  for beam, alpha, penalty in settings:
    start = time.monotonic()
    score = bleu.corpus_bleu(
        model.translate(sources, beam=beam, alpha=alpha, unk_penalty=penalty), references)
    print(json.dumps({"beam": beam, "alpha": alpha, "unk_penalty": penalty,
                      "bleu": round(score.score, 2), "seconds": round(time.monotonic() - start, 1),
                      "details": str(score)}), flush=True)


if __name__ == "__main__":
  main()
