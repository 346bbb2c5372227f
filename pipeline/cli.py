"""`textzoo` command line: run the pipeline (or compile it for Kubeflow), predict with / score a
served model, list corpora."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings

from pipeline import config as config_lib
from pipeline import corpora


def _setup_logging(command: str) -> None:
  """`run` sorts its output itself (pipeline.console). The other commands print their answer;
  what the stack logs on import (Beam's type-hint notices, TFMA's deprecations, TensorFlow's C++
  start-up lines, google-api-core's FutureWarnings) would bury it, so only warnings of ours and
  errors show."""
  level = logging.INFO
  if command != "run":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.simplefilter("ignore", FutureWarning)
    level = logging.WARNING
    for noisy in ("tensorflow", "apache_beam", "absl"):
      logging.getLogger(noisy).setLevel(logging.ERROR)
  logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s",
                      datefmt="%H:%M:%S")
  from absl import logging as absl_logging  # pylint: disable=import-outside-toplevel
  absl_logging.set_verbosity(absl_logging.INFO if level == logging.INFO else absl_logging.ERROR)


def _run_config(args):
  cfg = config_lib.load(args.config)
  if args.output_dir:
    cfg.output_dir = args.output_dir
  if args.models:
    config_lib.select_models(cfg, args.models.split(","))
  return cfg, corpora.resolve_data_dir(args.data_dir or cfg.data_dir)


def cmd_check(args) -> int:
  from pipeline import check  # pylint: disable=import-outside-toplevel
  cfg, data_dir = _run_config(args)
  for line in check.check(cfg, data_dir).lines():
    print(line)
  print("check: OK")
  return 0


def _models_table(rows: list[dict]) -> list[str]:
  lines = [f"{'model':24} {'metric':22} {'value':>8}  pushed"]
  for row in rows:
    value = f"{row['value']:.4f}" if row.get("value") is not None else "-"
    pushed = (f"version {row['pushed_version']}" if row["pushed_version"] else
              f"no: {row['why_not_pushed']}" if row.get("why_not_pushed") else "no")
    lines.append(f"{row['model']:24} {row.get('metric') or '-':22} {value:>8}  {pushed}")
  return lines


def cmd_run(args) -> int:
  from pipeline import console  # pylint: disable=import-outside-toplevel
  verbosity = console.VERBOSE if args.verbose else console.QUIET if args.quiet else console.NORMAL
  early = console.EarlyCapture(verbosity)  # what importing the stack prints goes to the log
  try:
    cfg, data_dir = _run_config(args)
  except BaseException:
    early.release()
    raise
  # Logical CPU devices must exist before TensorFlow initialises (trainers.strategy).
  from trainers import strategy  # pylint: disable=import-outside-toplevel
  strategy.configure_devices(cfg.strategy.name, cfg.strategy.cpu_devices)
  from pipeline import report, runner, runs  # pylint: disable=import-outside-toplevel
  with console.session(cfg.output_dir, verbosity, early) as (say, show):
    start = time.monotonic()
    runner.run_local(cfg, data_dir, say=say)
    seeds = {m.name: m.seed_figure for m in cfg.models}
    path = report.write(cfg.output_dir, seed_figures=seeds)
    names = {m.name for m in cfg.models}
    rows = [r for r in runs.models(cfg.output_dir) if r["model"] in names]
    show(f"textzoo run finished in {time.monotonic() - start:.0f} s; serving dir "
         f"{os.path.abspath(cfg.serving_dir)}; report {path}")
    for line in _models_table(rows):
      show(line)
  return 0


def cmd_models(args) -> int:
  from pipeline import runs  # pylint: disable=import-outside-toplevel
  output_dir = args.output_dir or config_lib.load(args.config).output_dir
  rows = runs.models(output_dir)
  if args.json:
    for row in rows:
      print(json.dumps(row))
    return 0
  for line in _models_table(rows):
    print(line)
  for row in rows:
    print(f"  {row['model']}: serving {row['serving_path'] or '-'}; Trainer export "
          f"{row['trainer_export'] or '-'}")
  return 0


def cmd_compile(args) -> int:
  from pipeline import orchestrators  # pylint: disable=import-outside-toplevel
  cfg = config_lib.load(args.config)
  if args.output_dir:
    cfg.output_dir = args.output_dir
  if args.image:
    cfg.image = args.image
  output = args.output or os.path.join("build", "kubeflow", f"{cfg.pipeline_name}.json")
  path = orchestrators.compile_kubeflow(cfg, orchestrators.data_dir_of(cfg, args.data_dir),
                                        output)
  print(f"{path}: Kubeflow V2 pipeline spec, image {cfg.image}, Beam profile {cfg.beam.profile}, "
        f"{os.path.getsize(path)} bytes")
  return 0


def cmd_report(args) -> int:
  from pipeline import report  # pylint: disable=import-outside-toplevel
  cfg = config_lib.load(args.config)
  output_dir = args.output_dir or cfg.output_dir
  print(report.write(output_dir, seed_figures={m.name: m.seed_figure for m in cfg.models}))
  return 0


def _decoded(value):
  """A served value as JSON takes it: bytes as UTF-8 text."""
  if isinstance(value, bytes):
    return value.decode("utf-8")
  return [_decoded(v) for v in value] if isinstance(value, list) else value


def cmd_predict(args) -> int:
  from pipeline import runs, serving_client  # pylint: disable=import-outside-toplevel
  model = serving_client.load(runs.resolve_model(args))
  outputs = model.predict(args.texts)
  for i, text in enumerate(args.texts):
    values = {k: _decoded(v[i].tolist()) for k, v in outputs.items()}
    if "words" in values:  # a tagger: per-word outputs cut at the sentence's end (its padding)
      n = sum(1 for w in values["words"] if w)
      values = {k: v[:n] if isinstance(v, list) and len(v) == len(values["words"]) else v
                for k, v in values.items()}
    if "classes" in values:  # a multi-class classifier: its top classes, most probable first
      ranked = sorted(zip(values.pop("classes"), values.pop("probabilities")),
                      key=lambda pair: -pair[1])[:args.top]
      values["top_classes"] = [{"class": c, "probability": round(p, 4)} for c, p in ranked]
    print(json.dumps({"text": text[:60], **values}, ensure_ascii=False))
  return 0


def cmd_score(args) -> int:
  from pipeline import runs, serving_client  # pylint: disable=import-outside-toplevel
  data_dir = corpora.resolve_data_dir(args.data_dir)
  tar_path = corpora.ensure_corpus("imdb", data_dir)[0]
  result = serving_client.score_imdb(runs.resolve_model(args), str(tar_path), args.split,
                                     args.batch_size)
  print(json.dumps(result))
  return 0


def cmd_generate(args) -> int:
  from pipeline import generate, runs  # pylint: disable=import-outside-toplevel
  generator = generate.CharGenerator(runs.resolve_model(args))
  text = generator.generate(args.prompt, args.chars, args.temperature, args.top_k, args.top_p,
                            args.seed)
  print(args.prompt + text)
  return 0


def cmd_translate(args) -> int:
  from pipeline import runs, translate  # pylint: disable=import-outside-toplevel
  model = runs.resolve_model(args)
  if args.n_best:
    for sentence, hypotheses in zip(args.sentences, translate.n_best(
        model, args.sentences, args.n_best, beam=args.beam, alpha=args.alpha,
        unk_penalty=args.unk_penalty)):
      texts = translate.detokenize([words for words, _ in hypotheses])
      print(json.dumps({"source": sentence, "n_best": [
          {"translation": text, "tokens": words, "score": round(score, 4)}
          for text, (words, score) in zip(texts, hypotheses)]}, ensure_ascii=False))
    return 0
  words = translate.translate(model, args.sentences, beam=args.beam, alpha=args.alpha,
                              unk_penalty=args.unk_penalty)
  for sentence, text, tokens in zip(args.sentences, translate.detokenize(words), words):
    print(json.dumps({"source": sentence, "translation": text, "tokens": tokens},
                     ensure_ascii=False))
  return 0


def cmd_corpora(args) -> int:
  if args.fetch:
    data_dir = corpora.resolve_data_dir(args.data_dir)
    for name in args.fetch:
      for path in corpora.ensure_corpus(name, data_dir):
        print(f"{name}: {path}")
    return 0
  print(corpora.describe())
  return 0


def cmd_score_lm(args) -> int:
  from pipeline import lm_score, runs  # pylint: disable=import-outside-toplevel
  if not args.windows and not args.run:
    raise ValueError("score-lm needs --windows, or --run and --model (the run's text of --split)")
  if args.windows:
    ids = lm_score.text_ids(args.windows)
  else:  # the split's whole text, so a stateful model's run (interleaved windows) reads too
    ids = lm_score.split_ids(runs.char_lm_text(args.run, args.model, args.split))
  print(json.dumps(lm_score.streamed_cross_entropy(runs.resolve_model(args), ids, args.streams)))
  return 0


def _positive_int(text: str) -> int:
  value = int(text)
  if value < 1:
    raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
  return value


MODEL_HELP = "serving/<model> (newest version), a version directory or a Format-Serving dir"


class _Version(argparse.Action):
  def __call__(self, parser, namespace, values, option_string=None):
    from pipeline import provenance  # pylint: disable=import-outside-toplevel
    for name, version in provenance.describe().items():
      print(f"{name} {version}")
    parser.exit()


def build_parser() -> argparse.ArgumentParser:
  from pipeline import runs  # pylint: disable=import-outside-toplevel
  parser = argparse.ArgumentParser(prog="textzoo", description=__doc__)
  parser.add_argument("--version", action=_Version, nargs=0,
                      help="textzoo's version, git revision and key package versions")
  sub = parser.add_subparsers(dest="command", required=True)
  data_help = (f"folder with the corpus files (default: ${corpora.DATA_DIR_ENV}, "
               f"else {corpora.DEFAULT_DATA_DIR})")

  run = sub.add_parser("run", help="run the pipeline locally (LocalDagRunner + DirectRunner)")
  run.add_argument("--config", help="run config YAML, or a packaged config name: "
                   f"{', '.join(config_lib.packaged_configs())} (default: IMDB, three BoW models)")
  run.add_argument("--data-dir", help=data_help)
  run.add_argument("--output-dir", help="overrides the config's output_dir")
  run.add_argument("--models", help="comma-separated: run only these models of the config")
  loudness = run.add_mutually_exclusive_group()
  loudness.add_argument("-v", "--verbose", action="store_true",
                        help="show everything (TFX, Beam, TensorFlow) on the console too")
  loudness.add_argument("-q", "--quiet", action="store_true",
                        help="only errors and the final table")
  run.set_defaults(func=cmd_run)

  mods = sub.add_parser("models", help="a run's models: metric, blessed, pushed version or why "
                        "not, serving path and Trainer export (from its ML-Metadata)")
  mods.add_argument("--output-dir", help="the run's output dir (default: the config's)")
  mods.add_argument("--config", help="run config YAML (default: the packaged default)")
  mods.add_argument("--json", action="store_true", help="one JSON object per model")
  mods.set_defaults(func=cmd_models)

  chk = sub.add_parser("check", help="validate a run config and find or fetch its inputs; "
                       "prints the components and the models it may push (run does this first)")
  for flag, kwargs in (("--config", {"help": "run config YAML, or a packaged config name"}),
                       ("--data-dir", {"help": data_help}),
                       ("--output-dir", {"help": "overrides the config's output_dir"}),
                       ("--models", {"help": "comma-separated: only these models"})):
    chk.add_argument(flag, **kwargs)
  chk.set_defaults(func=cmd_check)

  comp = sub.add_parser("compile", help="compile the pipeline for a cluster orchestrator")
  comp.add_argument("--target", required=True, choices=["kubeflow"],
                    help="kubeflow: a Kubeflow V2 pipeline spec (JSON) for the config's image "
                    "(Airflow reads infra/airflow/textzoo_dag.py instead)")
  comp.add_argument("--config", help="run config YAML, or a packaged config name")
  comp.add_argument("--data-dir", help="the corpora as the cluster's tasks see them (a path or "
                    "a gs:// URI; default: as for `run`)")
  comp.add_argument("--output-dir", help="overrides the config's output_dir (pipeline root, "
                    "serving dir) as the cluster's tasks see it")
  comp.add_argument("--image", help="overrides the config's container image")
  comp.add_argument("--output", help="the spec file (default: build/kubeflow/<pipeline_name>.json)")
  comp.set_defaults(func=cmd_compile)

  rep = sub.add_parser("report", help="write the Markdown run report (leaderboard, curves)")
  rep.add_argument("--output-dir", help="the run's output_dir (default: the config's)")
  rep.add_argument("--config", help="run config YAML (default: the packaged default)")
  rep.set_defaults(func=cmd_report)

  predict = sub.add_parser("predict", help="predict with a served model on raw texts")
  runs.add_arguments(predict, MODEL_HELP)
  predict.add_argument("texts", nargs="+")
  predict.add_argument("--top", type=int, default=3,
                       help="a multi-class classifier: how many of its top classes to print")
  predict.set_defaults(func=cmd_predict)

  score = sub.add_parser("score", help="IMDB accuracy of a served model via its raw-string signature")
  runs.add_arguments(score, MODEL_HELP)
  score.add_argument("--data-dir", help=data_help)
  score.add_argument("--split", default="test", choices=["train", "test"],
                     help="upstream IMDB split (default test: 25 000 reviews)")
  score.add_argument("--batch-size", type=int, default=256)
  score.set_defaults(func=cmd_score)

  score_lm = sub.add_parser(
      "score-lm", help="a char LM's nats/char over a text read in order (GRU state carried)")
  runs.add_arguments(score_lm, MODEL_HELP, split=True)
  score_lm.add_argument("--windows",
                        help="a stateless CharWindows eval/test split, e.g. <pipeline root>/"
                        "CharWindows.char_gru/windows/<id>/Split-test/* (without it, with "
                        "--run: the run's whole text of --split, from its Transform)")
  score_lm.add_argument("--streams", type=int, default=16,
                        help="contiguous pieces read side by side (each starts cold)")
  score_lm.set_defaults(func=cmd_score_lm)

  gen = sub.add_parser("generate", help="sample text from a served character LM")
  runs.add_arguments(gen, MODEL_HELP)
  gen.add_argument("--prompt", required=True)
  gen.add_argument("--chars", type=int, default=200, help="characters to generate")
  gen.add_argument("--temperature", type=float, default=1.0)
  choice = gen.add_mutually_exclusive_group()
  choice.add_argument("--top-k", type=int, help="sample from the k most likely characters")
  choice.add_argument("--top-p", type=float, help="nucleus sampling: smallest set reaching p")
  gen.add_argument("--seed", type=int, help="fixed seed: the same text every time")
  gen.set_defaults(func=cmd_generate)

  trans = sub.add_parser("translate", help="translate English sentences with a served translator")
  runs.add_arguments(trans, MODEL_HELP)
  trans.add_argument("--beam", type=_positive_int,
                     help="1: greedy; k > 1: beam search of width k (default: the model's "
                     "configured beam_width)")
  trans.add_argument("--alpha", type=float,
                     help="beam length normalisation: log-probability / length ** alpha "
                     "(default: the model's length_alpha)")
  trans.add_argument("--unk-penalty", type=float,
                     help="subtracted from the unknown word's log-probability at each step "
                     "(default: the model's unk_penalty)")
  trans.add_argument("--n-best", type=_positive_int, metavar="K",
                     help="list the beam's K best hypotheses with their scores (the beam is at "
                     "least K wide)")
  trans.add_argument("sentences", nargs="+")
  trans.set_defaults(func=cmd_translate)

  corp = sub.add_parser("corpora", help="list the corpus registry, or fetch corpora")
  corp.add_argument("--fetch", nargs="*", help="download/verify these corpora into the data dir")
  corp.add_argument("--data-dir", help=data_help)
  corp.set_defaults(func=cmd_corpora)
  return parser


def main(argv=None) -> int:
  args = build_parser().parse_args(argv)
  _setup_logging(args.command)
  try:
    return args.func(args)
  except (config_lib.ConfigError, corpora.CorpusError, FileNotFoundError, ValueError) as e:
    # ValueError includes pipeline.runs.RunError (an unknown model or split of a run)
    print(f"textzoo: error: {e}", file=sys.stderr)
    return 2
  except RuntimeError as e:  # a held run lock, a strategy that cannot be built, ...
    print(f"textzoo: error: {e}", file=sys.stderr)
    return 1


if __name__ == "__main__":
  sys.exit(main())
