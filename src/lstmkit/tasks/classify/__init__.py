"""Sequence classification: metrics and nearest-neighbour baselines."""
