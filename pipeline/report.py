"""`textzoo report`: one Markdown page about a run, read from ML-Metadata and its artifacts.

Leaderboard (model, task, metric, value, seed figure, epochs, train time, pushed version),
training curves (PNG per model), vocabulary sizes and per-component wall times.
"""
from __future__ import annotations

import math
import os
import shutil
from typing import Optional

from ml_metadata.proto import metadata_store_pb2

from pipeline import figures, provenance, records as run_records, runs, worst_examples


def confusion_table(counts: dict, names: Optional[list] = None) -> list[str]:
  """{(actual id, predicted id): n} as a Markdown table; names: the class names by id."""
  ids = sorted({i for pair in counts for i in pair if i >= 0} | set(range(len(names or []))))
  label = (lambda i: names[i]) if names else str
  numeric = all(label(i).isdigit() for i in ids)
  ids.sort(key=lambda i: int(label(i)) if numeric else label(i))  # by name, not vocabulary id
  unpredicted = any(p < 0 for _, p in counts)  # TFMA's -1: no class over the threshold
  header = [label(i) for i in ids] + (["none"] if unpredicted else [])
  rows = [f"| true / predicted | {' | '.join(header)} |", "|---" * (len(header) + 1) + "|"]
  for a in ids:
    cells = [counts.get((a, p), 0) for p in ids] + ([counts.get((a, -1), 0)] if unpredicted
                                                     else [])
    rows.append(f"| {label(a)} | {' | '.join(str(c) for c in cells)} |")
  return rows


def worst_section(output_dir: str, classifiers: list[str]) -> list[str]:
  """The worst-scored test examples of each classifier (pipeline.worst_examples)."""
  if not classifiers:
    return []
  lines = ["", "## Worst-scored test examples", "",
           f"Per classifier, the {worst_examples.SHOWN} test examples whose true class gets the "
           f"lowest probability, among up to {worst_examples.SAMPLE} evenly spaced through the "
           "test split, as the served model (TF Serving's session loader) scores them."]
  try:
    pattern = runs.examples(output_dir, "test")
  except runs.RunError as e:
    return lines + ["", f"Not scored: {e}"]
  for name in classifiers:
    try:
      path, what = runs.model_path(output_dir, name)
      found = worst_examples.worst(path, pattern)
    except (ValueError, OSError) as e:
      lines += ["", f"`{name}`: not scored ({e})"]
      continue
    lines += ["", f"`{name}` ({what}; {found['scored']} of {found['of']} test examples scored)",
              "", "| p(true class) | true | predicted | text |", "|---|---|---|---|"]
    lines += [f"| {w['p_true']:.4f} | {w['label']} | {w['predicted']} | "
              f"{' '.join(w['text'].split()).replace('|', '/')} |" for w in found["worst"]]
  return lines


def _fmt(value, pattern="{:.4f}"):
  return "" if value is None else pattern.format(value)


def write(output_dir: str, report_dir: Optional[str] = None,
          seed_figures: Optional[dict] = None) -> str:
  """Writes <report_dir>/report.md (+ PNGs) for the run in output_dir; returns its path."""
  records = run_records.RunRecords(os.path.join(output_dir, "metadata.sqlite"))
  report_dir = report_dir or os.path.join(output_dir, "report")
  tmp = report_dir + ".tmp"
  shutil.rmtree(tmp, ignore_errors=True)
  os.makedirs(tmp)
  rows = run_records.model_rows(records, seed_figures)
  made_with = provenance.describe()
  lines = ["# textzoo run report", "", f"Run: `{os.path.abspath(output_dir)}`", "",
           f"Report written with textzoo {made_with.pop('textzoo')} at git revision "
           f"`{made_with.pop('git')}`; " + ", ".join(f"{k} {v}" for k, v in made_with.items()),
           "",
           "## Leaderboard", "",
           "| model | task | feature | metric | value | seed figure | AUC / macro F1 / perplexity | "
           "epochs (best) | train s | replicas | blessed | pushed version |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]

  def rank(r):  # best first within each task
    value = r.get("value") if r.get("value") is not None else math.inf * (
        1 if r["lower_is_better"] else -1)
    return (r["task"], value if r["lower_is_better"] else -value)
  for r in sorted(rows, key=rank):
    lines.append(
        f"| {r['model']} | {r['task']} | {r['feature']} | {r['metric']} | "
        f"{_fmt(r.get('value'))} | {_fmt(r.get('seed'), '{:.3f}')} | "
        f"{_fmt(r.get('auc', r.get('macro_f1', r.get('perplexity'))))} | "
        f"{r.get('epochs')} ({r.get('best_epoch', '')}) | {r.get('train_seconds', '')} | "
        f"{r.get('replicas', '')} | {'yes' if r['blessed'] else 'no'} | "
        f"{r['pushed_version'] or 'not pushed'} |")
  refused = [(r["model"], figures.not_pushed_reason(records, r["model"])) for r in rows
             if r["pushed_version"] is None]
  if refused:
    lines += ["", "## Not pushed, and why", "", "| model | why |", "|---|---|"]
    lines += [f"| {name} | {why or 'did not reach the Pusher'} |" for name, why in refused]
  found = figures.anomalies(records)
  if found:
    lines += ["", "## Data validation (ExampleValidator, against the inferred schema)", ""]
    lines += [f"- {split}: " + ("no anomalies" if not a else "; ".join(
        f"`{feature}`: {text}" for feature, text in a.items())) for split, a in found.items()]
  matrices = [r for r in rows if r.get("confusion")]
  if matrices:
    names = run_records.class_names(records)
    lines += ["", "## Confusion matrices (test split)", "",
              "Rows: the true class; columns: the predicted one (the most probable class; "
              "binary: class 1 when its probability is over 0.5). From TFMA."]
    for r in matrices:
      lines += ["", f"`{r['model']}`", ""] + confusion_table(r["confusion"], names)
  lines += worst_section(output_dir, [r["model"] for r in rows
                                      if r.get("task_name") == "classification"])
  checked = [r for r in rows if r.get("serving_check")]
  if checked:
    lines += ["", "## Serving check (TF Serving's session-based loader)", "",
              "Before a push, each model is loaded as TF Serving loads it and its signatures "
              "run on raw test inputs; a model whose outputs differ from tf.saved_model.load's "
              "is not pushed.", "", "| model | passed | seconds | what was checked, or why not |",
              "|---|---|---|---|"]
    lines += [f"| {r['model']} | {'yes' if r['serving_check']['passed'] else 'NO'} | "
              f"{_fmt(r['serving_check']['seconds'], '{:.1f}')} | "
              f"{r['serving_check']['reason']} |" for r in checked]
  translators = [r for r in rows if r.get("bleu")]
  if translators:
    lines += ["", "## Translation: greedy and beam BLEU (Trainer, bleu.json)", "",
              "Corpus BLEU (sacrebleu) over unique test sources, every translation of a source a "
              "reference; the Evaluator's BLEU above is greedy over the whole test split. BLEU is "
              "on the model's own tokenization (lowercase, punctuation split), as the "
              "Evaluator's; standard BLEU is the detokenized output against the raw references "
              "with sacrebleu's defaults (13a, cased).", "",
              "| model | sources | greedy BLEU | beam BLEU (width) | greedy standard BLEU | "
              "beam standard BLEU | greedy s | beam s |",
              "|---|---|---|---|---|---|---|---|"]
    for r in translators:
      bleu = r["bleu"]
      beam = next((v for k, v in bleu.items() if k.startswith("beam")), {})
      lines.append(f"| {r['model']} | {bleu['sources']} | {bleu['greedy']['bleu']} | "
                   f"{beam.get('bleu')} ({beam.get('beam')}) | "
                   f"{bleu['greedy'].get('standard_bleu', '-')} | "
                   f"{beam.get('standard_bleu', '-')} | {bleu['greedy']['seconds']} | "
                   f"{beam.get('seconds')} |")
    signature = next((r["bleu"]["greedy"]["standard_signature"] for r in translators
                      if "standard_signature" in r["bleu"]["greedy"]), None)
    if signature:
      lines += ["", f"Standard BLEU signature: `{signature}`"]
    best = max(translators, key=lambda r: r["bleu"]["greedy"]["bleu"])
    lines += ["", f"Samples of {best['model']}:", ""]
    for sample in best["bleu"]["samples"][:5]:
      decoded = "; ".join(f"{k}: {v}" for k, v in sample.items()
                          if k not in ("source", "references"))
      lines.append(f"- {sample['source']} → {decoded} (reference: {sample['references'][0]})")
  lines += ["", "## Training curves", ""]
  for r in rows:
    if r.get("curves") and os.path.exists(r["curves"]):
      png = f"curves_{r['model']}.png"
      shutil.copy(r["curves"], os.path.join(tmp, png))
      lines += [f"### {r['model']}", "", f"![{r['model']} training curves]({png})", ""]
  vocabularies = run_records.vocabulary_sizes(records)
  if vocabularies:
    lines += ["## Vocabularies", "", "| vocabulary | size (without OOV) |", "|---|---|"]
    lines += [f"| {name} | {size} |" for name, size in vocabularies.items()]
    lines.append("")
  glove = run_records.glove_coverage(records)
  if glove and glove.get("rows") == "source words":
    lines += ["## GloVe matrix", "",
              f"All {glove['vocabulary_size']} words of `{glove['source']}` ({glove['dim']}-d), "
              "for the model to look its words up in; the padding and unknown-word rows are "
              "zero.", ""]
  elif glove:
    lines += ["## GloVe matrix", "",
              f"{glove['found']} of {glove['vocabulary_size']} vocabulary words "
              f"({100 * glove['coverage']:.1f} %) have a {glove['dim']}-d vector in "
              f"`{glove['source']}`; the others (e.g. "
              f"{', '.join(glove.get('missing_sample', [])[:8])}) and the padding/OOV rows are "
              "zero.", ""]
  counts = run_records.window_counts(records)
  if counts:
    lines += ["## Character windows", "", "| node | mode | length | train | eval | test |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {node} | {c.get('mode')} | {c.get('length')} | {c.get('windows_train')} | "
              f"{c.get('windows_eval')} | {c.get('windows_test')} |" for node, c in counts.items()]
    lines.append("")
  lines += ["## Component wall times (ML-Metadata execution records)", "",
            "| component | seconds | state |", "|---|---|---|"]
  state_names = {v: k for k, v in metadata_store_pb2.Execution.State.items()}
  for node, execution in sorted(records.executions.items(), key=lambda kv: kv[1].id):
    lines.append(f"| {node} | {records.seconds(node):.1f} | "
                 f"{state_names[execution.last_known_state]} |")
  with open(os.path.join(tmp, "report.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
  shutil.rmtree(report_dir, ignore_errors=True)
  os.replace(tmp, report_dir)
  return os.path.join(report_dir, "report.md")


def leaderboard(output_dir: str, seed_figures: Optional[dict] = None) -> list[dict]:
  return run_records.model_rows(run_records.RunRecords(os.path.join(output_dir, "metadata.sqlite")), seed_figures)


