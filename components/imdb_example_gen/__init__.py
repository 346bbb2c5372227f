"""ExampleGen that streams the IMDB tarball into tf.Examples (see executor.py)."""
