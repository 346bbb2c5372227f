"""GloveEmbedding: a GloVe embedding matrix for the Transform vocabulary (see component.py)."""
from components.glove_embedding.matrix import load_matrix, load_words  # noqa: F401
