"""benchmarks/eval_translate.py end to end, on the made-up pairs with tiny models and budgets (slow: --runslow)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from translate_toy import write_toy_tsv

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_benchmark_script_trains_all_three_models_and_writes_the_results_page(tmp_path):
    spec = importlib.util.spec_from_file_location("eval_translate", ROOT / "benchmarks" / "eval_translate.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    data = write_toy_tsv(tmp_path / "toy.tsv")
    results = tmp_path / "RESULTS.md"
    assert bench.main(["--smoke", "--minutes", "0.2", "--data", str(data), "--out", str(tmp_path / "run"),
                       "--results", str(results), "--set", "data.tokenizer=word"]) == 0
    page = results.read_text()
    for name in ("LSTM with attention", "LSTM without attention", "Transformer"):
        assert f"| {name} |" in page
    assert page.count("**met**") + page.count("**NOT met**") == 7  # 2 baselines, 3 beam checks, memory, speed
    assert "--set data.tokenizer=word" in page and "load average" in page
