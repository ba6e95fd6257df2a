"""Data: dataset readers, vocabularies, tokenisers and series formats."""
