"""Anomaly detection on time series: LSTM detectors, baselines, thresholds, metrics."""
