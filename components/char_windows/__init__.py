"""CharWindows: (input, target) character windows for language-model training."""
