"""ExampleGen for the Penn Treebank sample (`treebank.zip`): one tagged sentence per example."""
