"""ExampleGen for labelled-sentence corpora in zips (UCI sentences, sarcasm headlines)."""
