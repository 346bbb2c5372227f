"""The run's start lines: the time left, from the previous run's durations."""
import logging

from pipeline import console


def _start_lines(components, previous):
  said = []
  progress = console.Progress(components, previous, figure=lambda node: "", say=said.append)
  for node in components:
    progress.emit(logging.LogRecord("tfx", logging.INFO, __file__, 0, console._RUNNING, (node,),
                                    None))
  return said


def test_time_left_is_about_when_every_step_was_timed_and_a_bound_when_some_were_not():
  assert _start_lines(["Transform", "Trainer.a", "Pusher.a"],
                      {"Transform": 120, "Trainer.a": 480, "Pusher.a": 0.5}) == [
      "[1/3] Transform (about 10 min left, by the last run's times)",
      "[2/3] Trainer.a (about 8 min left, by the last run's times)",
      "[3/3] Pusher.a"]  # under a second left: no figure
  assert _start_lines(["Transform", "Trainer.b", "Pusher.b"],
                      {"Transform": 120, "Pusher.b": 0.5}) == [
      "[1/3] Transform (at least 2 min left: the last run timed 2 of the 3 steps to go)",
      "[2/3] Trainer.b",
      "[3/3] Pusher.b"]
