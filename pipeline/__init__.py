"""textzoo pipeline: definition, config, corpora registry, runners and CLI."""
