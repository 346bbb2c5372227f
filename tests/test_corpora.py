import contextlib
import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest

from pipeline import corpora

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
GOOD = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
  honour_range = True
  requests = []

  def do_GET(self):  # noqa: N802
    _Handler.requests.append(self.headers.get("Range"))
    start = 0
    if self.honour_range and self.headers.get("Range"):
      start = int(self.headers["Range"].split("=")[1].rstrip("-"))
      self.send_response(206)
    else:
      self.send_response(200)
    body = PAYLOAD[start:]
    self.send_header("Content-Length", str(len(body)))
    self.end_headers()
    self.wfile.write(body)

  def log_message(self, *args):
    pass


@contextlib.contextmanager
def serve(honour_range=True):
  _Handler.honour_range, _Handler.requests = honour_range, []
  server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  try:
    yield f"http://127.0.0.1:{server.server_address[1]}/file.bin"
  finally:
    server.shutdown()


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_data_dir_precedence(monkeypatch, tmp_path):
  monkeypatch.setenv(corpora.DATA_DIR_ENV, str(tmp_path / "env"))
  assert corpora.resolve_data_dir(str(tmp_path / "flag")) == tmp_path / "flag"
  assert corpora.resolve_data_dir(None) == tmp_path / "env"
  monkeypatch.delenv(corpora.DATA_DIR_ENV)
  monkeypatch.setenv("HOME", str(tmp_path / "home"))
  assert corpora.resolve_data_dir(None) == tmp_path / "home" / ".cache" / "textzoo"


def test_download_is_verified_and_atomic(tmp_path):
  with serve() as url:
    path = corpora.ensure_file(corpora.CorpusFile("f.bin", url, ("0" * 64, GOOD)), tmp_path)
  assert path.read_bytes() == PAYLOAD
  assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_download_resumes_a_partial_file(tmp_path):
  (tmp_path / "f.bin.part").write_bytes(PAYLOAD[:1000])
  with serve() as url:
    path = corpora.ensure_file(corpora.CorpusFile("f.bin", url, (GOOD,)), tmp_path)
  assert _Handler.requests == ["bytes=1000-"]
  assert path.read_bytes() == PAYLOAD


def test_download_restarts_when_server_ignores_range(tmp_path):
  (tmp_path / "f.bin.part").write_bytes(b"garbage" * 10)
  with serve(honour_range=False) as url:
    path = corpora.ensure_file(corpora.CorpusFile("f.bin", url, (GOOD,)), tmp_path)
  assert path.read_bytes() == PAYLOAD


def test_checksum_mismatch_deletes_partial_and_names_expected(tmp_path):
  expected = "ab" * 32
  with serve() as url, pytest.raises(corpora.CorpusError) as error:
    corpora.ensure_file(corpora.CorpusFile("f.bin", url, (expected,)), tmp_path)
  assert expected in str(error.value) and GOOD in str(error.value)
  assert list(tmp_path.iterdir()) == []


def test_existing_file_with_wrong_checksum_is_reported_not_deleted(tmp_path):
  (tmp_path / "f.bin").write_bytes(b"not the corpus")
  with pytest.raises(corpora.CorpusError, match="delete the file"):
    corpora.ensure_file(corpora.CorpusFile("f.bin", "http://x", (GOOD,)), tmp_path)
  assert (tmp_path / "f.bin").exists()


def test_offline_error_names_file_url_and_variable(tmp_path):
  url = f"http://127.0.0.1:{_free_port()}/aclImdb_v1.tar.gz"
  with pytest.raises(corpora.CorpusError) as error:
    corpora.ensure_file(corpora.CorpusFile("aclImdb_v1.tar.gz", url, (GOOD,)), tmp_path)
  message = str(error.value)
  assert "aclImdb_v1.tar.gz" in message and url in message
  assert corpora.DATA_DIR_ENV in message and str(tmp_path) in message


def test_file_without_url_says_where_it_comes_from(tmp_path):
  spec = corpora.get_corpus("glove_6b_50d").files[0]
  with pytest.raises(corpora.CorpusError, match="no download URL .*glove.6B.zip"):
    corpora.ensure_file(spec, tmp_path)


def test_whole_leftover_part_file_restarts_cleanly(tmp_path):
  (tmp_path / "f.bin.part").write_bytes(PAYLOAD)  # complete, but never renamed

  class _Strict(_Handler):
    def do_GET(self):  # noqa: N802
      if self.headers.get("Range") == f"bytes={len(PAYLOAD)}-":
        self.send_response(416)
        self.end_headers()
        return
      super().do_GET()

  server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Strict)
  threading.Thread(target=server.serve_forever, daemon=True).start()
  try:
    url = f"http://127.0.0.1:{server.server_address[1]}/f.bin"
    path = corpora.ensure_file(corpora.CorpusFile("f.bin", url, (GOOD,)), tmp_path)
  finally:
    server.shutdown()
  assert path.read_bytes() == PAYLOAD


def test_unknown_corpus_lists_valid_names():
  with pytest.raises(corpora.CorpusError, match="valid names: .*imdb"):
    corpora.get_corpus("imbd")


def test_shared_corpora_match_registry_checksums():
  shared = Path(__file__).resolve().parents[2] / "shared" / "corpora"
  if not shared.is_dir():
    pytest.skip("../shared/corpora not present")
  checked = 0
  for corpus in corpora.REGISTRY.values():
    for spec in corpus.files:
      if (shared / spec.name).exists():  # only what is there: never download into shared/
        assert corpora.sha256_of(shared / spec.name) in spec.sha256, spec.name
        checked += 1
  assert checked >= 1
