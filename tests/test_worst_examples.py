"""pipeline.worst_examples: the probability of the true class from a served model's outputs."""
import numpy as np
import pytest

from pipeline import worst_examples


def test_binary_outputs_give_the_probability_of_the_0_or_1_label():
  p, predicted = worst_examples.true_class_probability(
      {"probabilities": np.array([0.9, 0.2, 0.6])}, ["0", "0", "1"])
  assert p == pytest.approx([0.1, 0.8, 0.6])
  assert predicted == ["1", "0", "1"]


def test_multiclass_outputs_are_read_by_class_name():
  classes = np.array([[b"b", b"a", b"c"]] * 2)
  p, predicted = worst_examples.true_class_probability(
      {"probabilities": np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]), "classes": classes},
      ["a", "c"])
  assert p == pytest.approx([0.2, 0.6])
  assert predicted == ["b", "c"]
  with pytest.raises(ValueError, match=r"test labels \['d'\] are not among the model's classes"):
    worst_examples.true_class_probability(
        {"probabilities": np.array([[1.0, 0, 0]]), "classes": classes[:1]}, ["d"])
