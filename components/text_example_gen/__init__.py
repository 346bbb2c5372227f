"""Plain-text ExampleGen for the character-level corpora (Tiny Shakespeare, the Alice books)."""
