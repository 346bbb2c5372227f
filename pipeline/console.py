"""What `textzoo run` shows a person: one line when a component starts ("component k of N, about
M min left", from the previous run's durations in ML-Metadata) and one when it ends (wall time
and its key figure), Keras' per-epoch lines, and the final table of the models. Everything else
(TFX, Beam, absl, TensorFlow's C++ logs, warnings, Beam workers) goes to
`<output_dir>/logs/<run time>.log`, whose path the console prints first.

  verbosity QUIET    errors and the final table only
            NORMAL   the above
            VERBOSE  everything on the console as well (nothing redirected)

TensorFlow's C++ code and Beam's worker processes write to file descriptor 2, so outside VERBOSE
that descriptor is pointed at the log file for the run; Python's sys.stderr keeps the console,
so an error and its traceback still reach it in full.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import sys
import time
import traceback
import warnings
from typing import Callable, Optional

QUIET, NORMAL, VERBOSE = 0, 1, 2
LOGGER = "textzoo.console"
# Keras' fit(verbose=2) lines: "Epoch 3/10" and "626/626 - 11s - 18ms/step - loss: ...".
_KERAS_LINE = re.compile(r"^(Epoch \d+/\d+|\d+/\d+ - \d+s)")
_RUNNING, _FINISHED = "Component %s is running.", "Component %s is finished."
_CACHED = "A cached execution %d is used."


def _minutes(seconds: float) -> str:
  return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


class Progress(logging.Handler):
  """Turns the LocalDagRunner's component start/end log records into console lines.

  components: the pipeline's node ids in run order; previous: node -> seconds of the last
  COMPLETE execution (ML-Metadata of the previous run); figure: node -> its key figure, called
  when the node ends."""

  def __init__(self, components: list, previous: dict, figure: Callable[[str], str],
               say: Callable[[str], None]):
    super().__init__(level=logging.INFO)
    self._components, self._previous = list(components), dict(previous)
    self._figure, self._say = figure, say
    self._started: dict[str, float] = {}
    self._cached: set = set()
    self._current: Optional[str] = None

  def _left(self) -> str:
    rest = [n for n in self._components if n not in self._started]
    known = [self._previous[n] for n in rest if n in self._previous]
    if not known or sum(known) < 1:
      return ""
    if len(known) == len(rest):
      return f" (about {_minutes(sum(known))} left, by the last run's times)"
    return (f" (at least {_minutes(sum(known))} left: the last run timed {len(known)} of the "
            f"{len(rest)} steps to go)")

  def emit(self, record: logging.LogRecord) -> None:
    if record.msg not in (_RUNNING, _FINISHED, _CACHED):
      return
    if record.msg == _CACHED:
      if self._current:
        self._cached.add(self._current)
      return
    node = record.args[0] if isinstance(record.args, tuple) else record.args
    if node not in self._components:  # a resolver: no work of its own to show
      return
    if record.msg == _RUNNING:
      left = self._left()
      self._current, self._started[node] = node, time.monotonic()
      self._say(f"[{len(self._started)}/{len(self._components)}] {node}{left}")
      return
    seconds = time.monotonic() - self._started.get(node, time.monotonic())
    cached = " (cached)" if node in self._cached else ""
    try:
      figure = self._figure(node)
    except Exception as e:  # pylint: disable=broad-except
      figure = f"(figure unavailable: {e})"
    self._say(f"      {node} done in {seconds:.0f} s{cached}" + (f": {figure}" if figure else ""))


class _ConsoleStdout:
  """sys.stdout during a run: every line to the log, Keras' epoch lines to the console too."""

  def __init__(self, console, log, show_keras: bool):
    self._console, self._log, self._show = console, log, show_keras
    self._pending = ""

  def write(self, text: str) -> int:
    self._log.write(text)
    self._pending += text
    *lines, self._pending = self._pending.split("\n")
    for line in lines:
      if self._show and _KERAS_LINE.match(line.strip()):
        self._console.write(f"        {line.strip()}\n")
    return len(text)

  def flush(self) -> None:
    self._log.flush()
    self._console.flush()

  def isatty(self) -> bool:
    return False

  @property
  def encoding(self) -> str:
    return "utf-8"


class EarlyCapture:
  """What importing TensorFlow and the stack prints (C++ logs, FutureWarnings) before the run's
  log file exists: held in a temporary file, then copied into the log by session(); given back
  to the console unread if the run stops before (a config error)."""

  def __init__(self, verbosity: int = NORMAL):
    import tempfile  # pylint: disable=import-outside-toplevel
    self.active = verbosity < VERBOSE
    if not self.active:
      return
    self._file = tempfile.TemporaryFile("w+", encoding="utf-8")
    self._saved_fd, self._saved_stderr = os.dup(2), sys.stderr
    os.dup2(self._file.fileno(), 2)
    sys.stderr = os.fdopen(os.dup(self._saved_fd), "w", buffering=1, encoding="utf-8")
    logging.captureWarnings(True)
    self._handlers = list(logging.root.handlers)
    logging.root.handlers = [logging.StreamHandler(self._file)]

  def release(self) -> str:
    """Restores stderr and the logging handlers; returns what was captured."""
    if not self.active:
      return ""
    self.active = False
    os.dup2(self._saved_fd, 2)
    os.close(self._saved_fd)
    sys.stderr.close()
    sys.stderr = self._saved_stderr
    logging.root.handlers = self._handlers
    logging.captureWarnings(False)
    self._file.seek(0)
    text = self._file.read()
    self._file.close()
    return text


@contextlib.contextmanager
def session(output_dir: str, verbosity: int = NORMAL, early: Optional[EarlyCapture] = None):
  """Routes the run's output (see the module docstring); yields (say, show): say(text) is a
  progress line (console unless QUIET, and the log), show(text) a result line (console always,
  and the log)."""
  os.makedirs(os.path.join(output_dir, "logs"), exist_ok=True)
  log_path = os.path.abspath(os.path.join(
      output_dir, "logs", dt.datetime.now().strftime("%Y%m%d-%H%M%S") + ".log"))
  log = open(log_path, "a", buffering=1, encoding="utf-8")
  if early is not None:
    log.write(early.release())
  console = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
  console_err = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1, encoding="utf-8")
  saved = (sys.stdout, sys.stderr, os.dup(2), list(logging.root.handlers), logging.root.level)
  logger = logging.getLogger(LOGGER)

  def say(text: str) -> None:
    logger.info(text)

  def show(text: str) -> None:
    logger.info(text, extra={"always": True})

  file_handler = logging.StreamHandler(log)
  file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                              "%H:%M:%S"))
  shown = logging.StreamHandler(console)  # our lines (everything, with VERBOSE)
  shown.setFormatter(logging.Formatter("%(message)s"))
  shown.addFilter(lambda r: verbosity == VERBOSE or (
      r.name == LOGGER and (verbosity >= NORMAL or getattr(r, "always", False))))
  errors = logging.StreamHandler(console_err)  # any library's errors, in full
  errors.setLevel(logging.ERROR)
  errors.addFilter(lambda r: verbosity < VERBOSE and r.name != LOGGER)
  logging.root.handlers = [file_handler, shown, errors]
  logging.root.setLevel(logging.INFO)
  logging.captureWarnings(True)
  warnings.simplefilter("default")
  if verbosity < VERBOSE:
    os.dup2(log.fileno(), 2)  # C++ logs and Beam workers' stderr
    sys.stdout = _ConsoleStdout(console, log, show_keras=verbosity >= NORMAL)
    sys.stderr = console_err
  if verbosity >= NORMAL:
    console.write(f"log: {log_path}\n")
  try:
    yield say, show
  except BaseException:
    log.write(traceback.format_exc())  # the console gets it from the caller, in full
    raise
  finally:
    sys.stdout, sys.stderr = saved[0], saved[1]
    os.dup2(saved[2], 2)
    os.close(saved[2])
    logging.root.handlers = saved[3]
    logging.root.setLevel(saved[4])
    logging.captureWarnings(False)
    log.close()
    console.close()
    console_err.close()
