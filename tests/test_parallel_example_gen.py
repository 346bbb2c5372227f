import collections
import zipfile

import pytest

from components.parallel_example_gen import executor, reader


def write_pairs(path, lines, member="spa.txt", crlf=False):
  """A manythings-layout zip; lines (str, or bytes kept as is) joined by LF (or CRLF)."""
  end = b"\r\n" if crlf else b"\n"
  data = end.join(l if isinstance(l, bytes) else l.encode("utf-8") for l in lines) + end
  with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
    zf.writestr("_about.txt", "about")
    zf.writestr(member, data)
  return str(path)


def test_two_and_three_columns_blank_and_empty_sides(tmp_path):
  lines = ["Go.\tVe.", "Go.\tVete.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272",
           "", "  \t  ", "Hi.\t", "\tHola.", "Run!  \t ¡Corre! ", b"Caf\xe9.\tCaf\xc3\xa9."]
  stats = reader.ReadStats()
  pairs = list(reader.iter_pairs(write_pairs(tmp_path / "spa-eng.zip", lines, crlf=True),
                                 "spa_eng", stats))
  assert [(p.line, p.source, p.target) for p in pairs] == [
      (1, "Go.", "Ve."), (2, "Go.", "Vete."), (7, "Run!", "¡Corre!"), (8, "Caf\ufffd.", "Café.")]
  assert stats.blank == [3, 4] and stats.empty == [5, 6] and stats.non_utf8 == [8]
  assert (stats.lines, stats.pairs, stats.attributed) == (8, 4, 1)


@pytest.mark.parametrize("line, columns", [("Only English here.", 1), ("a\tb\tc\td", 4)])
def test_bad_line_names_zip_member_and_line(tmp_path, line, columns):
  path = write_pairs(tmp_path / "fra-eng.zip", ["Hi.\tSalut !", line], member="fra.txt")
  with pytest.raises(reader.ParallelCorpusError,
                     match=rf"fra-eng\.zip: fra\.txt: line 2: {columns} tab-separated"):
    list(reader.iter_pairs(path, "fra_eng"))


def test_missing_member_and_no_pairs_are_errors(tmp_path):
  path = write_pairs(tmp_path / "spa-eng.zip", ["Hi.\tHola."], member="fra.txt")
  with pytest.raises(reader.ParallelCorpusError, match=r"no member 'spa\.txt'"):
    list(reader.iter_pairs(path, "spa_eng"))
  path = write_pairs(tmp_path / "empty.zip", ["", "Hi.\t"])
  with pytest.raises(reader.ParallelCorpusError, match="no sentence pairs in 2 lines"):
    list(reader.iter_pairs(path, "spa_eng"))
  with pytest.raises(ValueError, match="valid: spa_eng, fra_eng"):
    reader.get_format("deu_eng")


def test_split_is_seeded_by_source_and_near_the_fractions():
  fractions = [0.8, 0.1, 0.1]
  sources = [f"Sentence number {i}." for i in range(5000)]
  splits = [executor.split_of(s, fractions, 42) for s in sources]
  counts = collections.Counter(splits)
  assert abs(counts["train"] / 5000 - 0.8) < 0.02
  assert abs(counts["eval"] / 5000 - 0.1) < 0.015 and abs(counts["test"] / 5000 - 0.1) < 0.015
  # Every translation of one source shares its split (normalised: case and spacing).
  assert all(executor.split_of(f"  SENTENCE  number {i}. ", fractions, 42) == splits[i]
             for i in range(200))
  other = [executor.split_of(s, fractions, 7) for s in sources]
  assert other != splits


def test_example_has_source_and_target_only():
  example = executor.to_example(reader.Pair(3, "I like soccer.", "Me gusta el fútbol."))
  features = example.features.feature
  assert sorted(features) == ["source", "target"]
  assert features["target"].bytes_list.value == ["Me gusta el fútbol.".encode()]
