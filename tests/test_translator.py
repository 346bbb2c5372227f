import keras
import numpy as np
import pytest
import tensorflow as tf

from components import bleu, translation_preprocessing as tp
from trainers import seq2seq_decoding, strategy as strategy_lib, translator

A, B = 4, 5  # the first two vocabulary words (ids after the reserved ones)
VARIANTS = {"lstm": {}, "bilstm": {"bidirectional": True},
            "bilstm_attention": {"bidirectional": True, "attention": True}, "gru": {"cell": "gru"},
            "bilstm_bahdanau_stacked": {"bidirectional": True, "attention": "bahdanau",
                                        "layers": 2, "clipnorm": 1.0},
            "gru_stacked": {"cell": "gru", "layers": 3}}


def test_loss_and_accuracy_count_real_target_tokens_only():
  y_true = np.array([[4, 5, 3, 0, 0], [6, 3, 0, 0, 0]])
  rng = np.random.default_rng(0)
  probs = rng.dirichlet(np.ones(8), size=(2, 5)).astype("float32")
  real = y_true != 0
  expected = -np.mean(np.log(np.take_along_axis(probs, y_true[..., None], -1)[..., 0][real]))
  loss = translator.MaskedSparseCrossentropy()
  assert float(loss(y_true, probs)) == pytest.approx(expected, rel=1e-5)
  changed = probs.copy()
  changed[~real] = rng.dirichlet(np.ones(8), size=int((~real).sum()))
  assert float(loss(y_true, changed)) == pytest.approx(expected, rel=1e-5)
  accuracy = translator.MaskedAccuracy()
  accuracy.update_state(y_true, probs)
  hits = (probs.argmax(-1) == y_true)[real]
  assert float(accuracy.result()) == pytest.approx(hits.mean())


def test_compiled_model_loss_is_the_mean_over_real_tokens():
  """No second (Keras-propagated) mask scales the loss: evaluate() equals the hand mean."""
  config = translator.Params(units=4, embedding_dim=3, attention=True,
                             bidirectional=True)
  model = translator.build_model(config, 9, 8)
  src = np.array([[4, 5, 0, 0], [6, 7, 8, 0]])
  dec_in = np.array([[2, 4, 5, 0, 0], [2, 6, 0, 0, 0]])
  dec_out = np.array([[4, 5, 3, 0, 0], [6, 3, 0, 0, 0]])
  probs = model.predict([src, dec_in], verbose=0)
  real = dec_out != 0
  expected = -np.mean(np.log(np.take_along_axis(probs, dec_out[..., None], -1)[..., 0][real]))
  result = model.evaluate([src, dec_in], dec_out, verbose=0, return_dict=True)
  assert result["loss"] == pytest.approx(expected, rel=1e-4)


def _handset_model(table: dict) -> translator.keras.Model:
  """A GRU translator whose next-word distribution is table[previous word]: the decoder's
  update gate is shut (z ~ 0, so the state is the candidate alone), its candidate is
  tanh(10 * one-hot(previous word)) ~ the one-hot, and the output layer's row for that word
  holds the log-probabilities."""
  v = 6
  config = translator.Params(cell="gru", units=v, embedding_dim=v)
  model = translator.build_model(config, 5, v)
  model.get_layer("target_embedding").set_weights([10 * np.eye(v)])
  gru = model.get_layer("decoder")
  kernel, recurrent, bias = (np.zeros_like(w) for w in gru.get_weights())
  kernel[:, 2 * v:] = np.eye(v)       # gates z, r, h: only h sees the input
  bias[:, :v] = -15.0                 # z = sigmoid(-30): the previous state is forgotten
  gru.set_weights([kernel, recurrent, bias])
  logits = np.full([v, v], np.log(1.0 / v))
  for previous, probabilities in table.items():
    row = np.full(v, 1e-6)
    for word, p in probabilities.items():
      row[word] = p
    logits[previous] = np.log(row / row.sum())
  model.get_layer("next_word").set_weights([logits, np.zeros(v)])
  return model


def _keras_step(model):
  """encode and step functions over the Keras inference models, states packed as the served
  module packs them (an LSTM's h and c concatenated)."""
  encoder, step = translator.inference_models(model)
  sizes = [s.shape[-1] for s in encoder.outputs[1:]]

  def encode(source_ids):
    outputs, *states = encoder(tf.constant(source_ids, tf.int64))
    return {"state": np.concatenate(states, -1), "encoder_outputs": np.asarray(outputs),
            "source_ids": np.asarray(source_ids)}

  def step_fn(tokens, state):
    states = np.split(state["state"], np.cumsum(sizes)[:-1], axis=-1)
    probabilities, *new = step([tf.constant(tokens[:, None]), *map(tf.constant, states),
                                tf.constant(state["encoder_outputs"]),
                                tf.constant(state["source_ids"])])
    return np.log(np.asarray(probabilities)), {**state, "state": np.concatenate(new, -1)}

  return encode, step_fn


def test_beam_search_finds_the_sequence_greedy_misses():
  # After start: a .5, b .4, end .1; after a: end .4 (a end: .20); after b: end .9 (b end: .36).
  model = _handset_model({tp.START_ID: {A: .5, B: .4, tp.END_ID: .1},
                          A: {tp.END_ID: .4, A: .3, B: .3}, B: {tp.END_ID: .9, A: .05, B: .05}})
  encode, step = _keras_step(model)
  state = encode(np.array([[4, 0, 0]]))
  log_probs, _ = step(np.array([tp.START_ID]), state)
  assert np.exp(log_probs[0, [A, B, tp.END_ID]]) == pytest.approx([.5, .4, .1], abs=1e-4)
  assert seq2seq_decoding.greedy(step, state, 1, 4) == [[A]]
  assert seq2seq_decoding.beam_search(step, state, 1, 4) == [A]
  assert seq2seq_decoding.beam_search(step, state, 2, 4) == [B]
  assert seq2seq_decoding.beam_search(step, state, 3, 4) == [B]


def test_n_best_lists_the_finished_hypotheses_best_first():
  model = _handset_model({tp.START_ID: {A: .5, B: .4, tp.END_ID: .1},
                          A: {tp.END_ID: .4, A: .3, B: .3}, B: {tp.END_ID: .9, A: .05, B: .05}})
  encode, step = _keras_step(model)
  state = encode(np.array([[4, 0, 0]]))
  hypotheses = seq2seq_decoding.beam_hypotheses(step, state, 3, 4, alpha=0.0)
  words = [w for w, _ in hypotheses]
  scores = [s for _, s in hypotheses]
  assert words[:3] == [[B], [A], []]  # b end .36, a end .20, end .10 (alpha 0: raw sums)
  assert scores[:3] == pytest.approx(np.log([.36, .20, .10]), abs=1e-3)
  assert scores == sorted(scores, reverse=True)
  assert seq2seq_decoding.beam_search(step, state, 3, 4, alpha=0.0) == words[0]


def test_unk_penalty_and_length_normalisation():
  # After start: unk .6, a .3, end .1; after unk or a: end .9.
  model = _handset_model({tp.START_ID: {tp.UNK_ID: .6, A: .3, tp.END_ID: .1},
                          tp.UNK_ID: {tp.END_ID: .9}, A: {tp.END_ID: .9}})
  encode, step = _keras_step(model)
  state = encode(np.array([[4, 0, 0]]))
  assert seq2seq_decoding.beam_search(step, state, 2, 4) == [tp.UNK_ID]
  assert seq2seq_decoding.beam_search(step, state, 2, 4, unk_penalty=1.0) == [A]  # .6/e < .3
  assert seq2seq_decoding.greedy(step, state, 1, 4, unk_penalty=np.inf) == [[A]]
  # Length: "end" alone (.1) against "unk end" (.54): per-token mean prefers the longer one,
  # the raw sum (alpha 0) too, unless unk is banned: then "a end" (.27) beats "end" (.1).
  assert seq2seq_decoding.beam_search(step, state, 3, 4, alpha=0.0, unk_penalty=np.inf) == [A]


def _pairs_dataset(batch):
  src = np.array([[4, 5, 6, 0], [7, 4, 0, 0]] * 4)
  dec_in = np.array([[2, 4, 5, 0, 0], [2, 6, 7, 8, 0]] * 4)
  dec_out = np.array([[4, 5, 3, 0, 0], [6, 7, 8, 3, 0]] * 4)
  return tf.data.Dataset.from_tensor_slices(((src, dec_in), dec_out)).batch(batch)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_one_train_step_on_two_replicas_and_stepwise_decoding_matches(variant):
  strategy = strategy_lib.make_strategy("mirrored", 2)
  assert strategy.num_replicas_in_sync == 2
  config = translator.Params(units=6, embedding_dim=4, **VARIANTS[variant])
  with strategy.scope():
    model = translator.build_model(config, 10, 10, learning_rate=0.01)
  rnns = [l for l in model.body.layers
          if isinstance(l, (keras.layers.RNN, keras.layers.Bidirectional))]
  assert len(rnns) == 2 * config.layers
  if config.attention:
    expected = "AdditiveAttention" if config.attention == "bahdanau" else "Attention"
    assert type(model.get_layer("attention")).__name__ == expected
  assert model.optimizer.clipnorm == (config.clipnorm or None)
  before = [w.copy() for w in model.get_weights()]
  history = model.fit(_pairs_dataset(4), epochs=1, verbose=0)
  assert np.isfinite(history.history["loss"][0])
  assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
  # The encoder once, then one decoder step per word, gives the teacher-forced probabilities.
  (src, dec_in), _ = next(iter(_pairs_dataset(2)))
  full = model.predict([src, dec_in], verbose=0)
  encode, step = _keras_step(model)
  state = encode(src.numpy())
  for t in range(dec_in.shape[1]):
    log_probs, state = step(dec_in.numpy()[:, t], state)
    np.testing.assert_allclose(np.exp(log_probs), full[:, t], atol=1e-5)


def test_bleu_on_known_strings():
  assert bleu.corpus_bleu(["the cat sat on the mat ."],
                               [["the cat sat on the mat ."]]).score == pytest.approx(100)
  # Any one of a segment's references may match; segments may have different reference counts.
  two = bleu.corpus_bleu(["el gato está en la alfombra .", "hola a todos ."],
                              [["un gato en la alfombra .", "el gato está en la alfombra ."],
                               ["hola a todos ."]])
  assert two.score == pytest.approx(100)
  assert bleu.corpus_bleu(["perro azul rápido"], [["el gato está aquí"]]).score == 0
  partial = bleu.corpus_bleu(["el gato está en la casa ."],
                                  [["el gato está en la alfombra ."]]).score
  assert 0 < partial < 100
  with pytest.raises(ValueError, match="1 empty"):
    bleu.corpus_bleu(["a"], [[]])


def test_detokenize_drops_reserved_ids_but_shows_unknown_words():
  vocab = list(tp.RESERVED) + ["me", "gusta"]
  assert seq2seq_decoding.detokenize([4, 1, 5], vocab) == "me [UNK] gusta"
  assert seq2seq_decoding.detokenize([0, 2, 4, 3], vocab) == "me"


def test_trim_padding_cuts_only_columns_that_are_padding_in_every_row():
  src = tf.constant([[4, 5, 0, 0, 0], [6, 0, 0, 0, 0]], tf.int64)
  dec_in = tf.constant([[2, 4, 5, 0, 0, 0], [2, 6, 7, 8, 0, 0]], tf.int64)
  dec_out = tf.constant([[4, 5, 3, 0, 0, 0], [6, 7, 8, 3, 0, 0]], tf.int64)
  (s, d), t = translator.trim_padding((src, dec_in), dec_out)
  np.testing.assert_array_equal(s, src[:, :2])
  np.testing.assert_array_equal(d, dec_in[:, :4])
  np.testing.assert_array_equal(t, dec_out[:, :4])


@pytest.mark.parametrize("variant", ["bilstm_attention", "gru"])
def test_trimmed_batch_gives_the_padded_batch_probabilities(variant):
  """Source padding is masked, target padding only follows the sentence: cutting both leaves
  every real position's prediction as it was."""
  config = translator.Params(units=5, embedding_dim=3, **VARIANTS[variant])
  model = translator.build_model(config, 10, 9)
  (src, dec_in), dec_out = next(iter(_pairs_dataset(2)))
  pad = lambda x, n: np.pad(x.numpy(), [(0, 0), (0, n)])
  padded = model.predict([pad(src, 3), pad(dec_in, 4)], verbose=0)
  (s, d), t = translator.trim_padding((src, dec_in), dec_out)
  trimmed = model.predict([s, d], verbose=0)
  real = t.numpy() != 0
  np.testing.assert_allclose(trimmed[real], padded[:, :t.shape[1]][real], atol=1e-6)


def test_sampled_softmax_trains_the_output_layer_and_evaluates_with_the_full_softmax():
  strategy = strategy_lib.make_strategy("mirrored", 2)
  keras.utils.set_random_seed(1)  # the initial weights, whatever tests ran before
  config = translator.Params(units=8, embedding_dim=4, sampled_softmax=3,
                             bidirectional=True, attention=True)
  with strategy.scope():
    model = translator.build_model(config, 10, 10, learning_rate=0.02, seed=1)
  kernel = model.get_layer("next_word").get_weights()[0].copy()
  before = model.evaluate(_pairs_dataset(4), verbose=0, return_dict=True)
  history = model.fit(_pairs_dataset(4), epochs=40, verbose=0)
  assert "token_accuracy" not in history.history  # no full softmax in training
  assert not np.allclose(kernel, model.get_layer("next_word").get_weights()[0])
  after = model.evaluate(_pairs_dataset(4), verbose=0, return_dict=True)
  # Full-softmax loss and accuracy over the real tokens, the sampled loss having trained them.
  assert after["loss"] < before["loss"] / 4
  assert after["token_accuracy"] == 1.0


def test_curves_show_a_metric_logged_for_eval_only(tmp_path):
  from trainers import common  # pylint: disable=import-outside-toplevel
  history = {"loss": [2.0, 1.0], "val_loss": [2.5, 1.5], "val_token_accuracy": [0.4, 0.6]}
  assert common.curve_panels(history) == ["loss", "token_accuracy"]
  common.save_history({"history": history}, str(tmp_path))
  assert (tmp_path / "training_curves.png").stat().st_size > 0


DETOKENIZED = [  # (the model's words, what a reader expects)
    ("¿ de verdad ?", "¿De verdad?"),
    ("je n ' aime pas ça .", "Je n'aime pas ça."),
    ('él dijo : " hola " y se fue .', 'Él dijo: "hola" y se fue.'),
    ("me gusta el e - mail , ¿ y a ti ?", "Me gusta el e-mail, ¿y a ti?"),
    ("¡ ésta es la casa ( de tom ) !", "¡Ésta es la casa (de tom)!"),
    ("3 gatos ; 2 perros .", "3 gatos; 2 perros."),
    ("", ""),
]


def test_detokenize_gives_readable_text_and_keeps_every_token():
  words = [w for w, _ in DETOKENIZED]
  out = [t.decode() for t in tp.detokenize(tf.constant(words)).numpy()]
  assert out == [d for _, d in DETOKENIZED]
  # Nothing lost or changed: standardising the detokenized text gives the model's words back.
  assert [t.decode() for t in tp.standardize(tf.constant(out)).numpy()] == words


def test_detokenize_agrees_with_the_moses_detokenizer_on_punctuation():
  from sacremoses import MosesDetokenizer  # pylint: disable=import-outside-toplevel
  moses = MosesDetokenizer(lang="es")
  words = ["¿ de verdad ?", "¡ qué bien !", "tengo 3 gatos , 2 perros y un pez .",
           "no sé ; quizá mañana : ya veremos .", "¿ dónde está ( el ) baño ?"]
  ours = [t.decode() for t in tp.detokenize(tf.constant(words)).numpy()]
  assert [o.lower() for o in ours] == [moses.detokenize(w.split()) for w in words]


def test_standard_bleu_scores_detokenized_text_against_raw_references():
  hypothesis, reference = "¿De verdad? Me gusta.", "¿De verdad? Me gusta."
  score, signature = bleu.standard_bleu([hypothesis], [[reference]])
  assert score.score == pytest.approx(100) and "tok:13a" in signature and "case:mixed" in signature
  cased, _ = bleu.standard_bleu(["¿de verdad? me gusta."], [[reference]])
  lower, signature = bleu.standard_bleu(["¿de verdad? me gusta."], [[reference]], lowercase=True)
  assert cased.score < 100 and lower.score == pytest.approx(100) and "case:lc" in signature
