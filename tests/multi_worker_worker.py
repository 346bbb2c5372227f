"""One worker of tests/test_multi_worker.py, started with $TF_CONFIG: builds
MultiWorkerMirroredStrategy, then runs a trainer's run_fn exactly as the TFX Trainer would call
it on a cluster (the same fn_args for every worker), and writes its final weights.

  python -m tests.multi_worker_worker '<json: trainer, examples, splits, transform_graph,
                                         serving_model_dir, model_run_dir, custom_config, out>'
"""
import importlib
import json
import os
import sys


def main() -> None:
  args = json.loads(sys.argv[1])
  # pylint: disable=import-outside-toplevel
  from trainers import strategy as strategy_lib
  # Before any other TF op: the collective runtime is set up when the strategy is created. The
  # trainer's own make_strategy call gets this instance back.
  strategy = strategy_lib.make_strategy("multi_worker")
  import numpy as np
  from tfx.components.trainer import fn_args_utils
  from tfx.types import artifact_utils, standard_artifacts

  from trainers import common
  trainer = importlib.import_module(f"trainers.{args['trainer']}")

  examples = standard_artifacts.Examples()
  examples.uri = args["examples"]
  examples.split_names = artifact_utils.encode_split_names(args["splits"])
  graph = standard_artifacts.TransformGraph()
  graph.uri = args["transform_graph"]
  fn_args = fn_args_utils.get_common_fn_args(
      {"examples": [examples], "transform_graph": [graph]},
      {"train_args": json.dumps({"splits": ["train"]}),
       "eval_args": json.dumps({"splits": ["eval"]}),
       "custom_config": json.dumps(args["custom_config"])})
  fn_args.transform_output = fn_args.transform_graph_path  # what the Trainer executor sets
  fn_args.serving_model_dir = args["serving_model_dir"]
  fn_args.model_run_dir = args["model_run_dir"]

  if os.environ.get("TEXTZOO_DEBUG"):
    import keras
    keras.config.disable_traceback_filtering()
  model = trainer.run_fn(fn_args)

  resolver = strategy.cluster_resolver
  name = f"{resolver.task_type}-{resolver.task_id}"
  np.savez(os.path.join(args["out"], f"weights-{name}.npz"), *model.get_weights())
  with open(os.path.join(args["out"], f"worker-{name}.json"), "w") as f:
    json.dump({"replicas": strategy.num_replicas_in_sync, "chief": common.is_chief(strategy),
               "epochs": model.history.params["epochs"],
               # Over a dataset of unknown size (the BoW input) Keras 3 counts one optimizer
               # iteration more per epoch than it runs steps, on one device too; the test reads
               # the steps from Keras' progress lines. The char input has a known size.
               "optimizer_iterations": int(model.optimizer.iterations.numpy())}, f)


if __name__ == "__main__":
  main()
