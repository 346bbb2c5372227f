"""EmbeddingTrainer: TFX's Trainer with an optional EmbeddingMatrix input (see component.py)."""
