"""Sequence tagging: tag schemes (IOB1, IOB2, BIOES) and entity-level metrics."""
