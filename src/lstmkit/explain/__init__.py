"""Seeing inside and showing results: plots, gate traces and HTML reports."""
