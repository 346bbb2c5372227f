"""The import structure: components/ (TFX components, Transform code, metrics) imports neither
trainers/ nor pipeline/; trainers/ does not import pipeline/; no two project modules import each
other, directly or through others (every import inside functions included)."""
import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("components", "trainers", "pipeline")


def _modules() -> dict:
  found = {}
  for package in PACKAGES:
    for folder, _, files in os.walk(os.path.join(ROOT, package)):
      for name in files:
        if name.endswith(".py"):
          path = os.path.join(folder, name)
          module = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".").removesuffix(".__init__")
          found[module] = path
  return found


def _imports(path: str, modules: dict) -> set:
  out = set()
  with open(path, encoding="utf-8") as f:
    tree = ast.parse(f.read())
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
      names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
    else:
      continue
    out |= {n for n in names if n in modules}
  return out


def _graph() -> dict:
  modules = _modules()
  graph = {m: _imports(p, modules) for m, p in modules.items()}
  # a package's __init__ importing its own submodules is not a cycle of concern
  return {m: {d for d in deps if not d.startswith(m + ".")} for m, deps in graph.items()}


def test_components_import_neither_trainers_nor_pipeline_and_trainers_not_pipeline():
  wrong = sorted((m, d) for m, deps in _graph().items() for d in deps
                 if (m.startswith("components") and d.split(".")[0] in ("trainers", "pipeline"))
                 or (m.startswith("trainers") and d.startswith("pipeline")))
  assert wrong == []


def test_no_import_cycles():
  graph, cycles = _graph(), []

  def visit(module, path):
    for dep in sorted(graph.get(module, ())):
      if dep in path:
        cycles.append(path[path.index(dep):] + [dep])
      elif dep not in done:
        visit(dep, path + [dep])
    done.add(module)

  done = set()
  for module in sorted(graph):
    if module not in done:
      visit(module, [module])
  assert cycles == []
