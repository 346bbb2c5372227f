"""ExampleGen for tab-separated parallel text in zips (manythings.org spa-eng, fra-eng)."""
