"""SentenceEncoder: a pretrained sentence encoder as a SavedModel artifact (see component.py)."""
