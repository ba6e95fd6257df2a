"""lstmkit.config: dataclass configs from dicts, YAML and dotted overrides, strict keys."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import pytest

from lstmkit.config import (add_config_arguments, from_dict, iter_fields, load_config, option, overrides_from_args,
                            replace, section, to_dict)


@dataclass
class Inner:
    size: int = option(8, "units")
    rate: float = option(0.5, "a rate")
    names: list[str] = option([], "some names")
    flag: bool = option(False, "a switch")

    def __post_init__(self):
        if self.size < 1:
            raise ValueError(f"Inner: expected size >= 1, got {self.size}")


@dataclass
class Outer:
    name: str = option("x", "a name")
    inner: Inner = section(Inner)
    tuned: Inner = field(default_factory=lambda: Inner(size=99), metadata={"help": "section with its own defaults"})


def test_defaults_and_round_trip():
    cfg = from_dict(Outer, {})
    assert cfg.inner.size == 8 and cfg.tuned.size == 99
    assert from_dict(Outer, to_dict(cfg)) == cfg


def test_unknown_keys_rejected_at_every_level():
    with pytest.raises(ValueError, match=r"Outer: unknown key\(s\) \['nme'\]"):
        from_dict(Outer, {"nme": "y"})
    with pytest.raises(ValueError, match=r"Outer.inner: unknown key\(s\) \['sise'\]"):
        from_dict(Outer, {"inner": {"sise": 3}})


def test_strings_are_coerced_and_bad_values_named():
    cfg = from_dict(Outer, {"inner": {"size": "16", "rate": "1e-3", "names": "a, b", "flag": "true"}})
    assert cfg.inner == Inner(size=16, rate=1e-3, names=["a", "b"], flag=True)
    with pytest.raises(ValueError, match=r"Outer.inner.size: expected an integer, got 'big'"):
        from_dict(Outer, {"inner": {"size": "big"}})
    with pytest.raises(ValueError, match=r"Outer.inner.flag: expected true or false"):
        from_dict(Outer, {"inner": {"flag": "maybe"}})


def test_validation_runs_in_post_init():
    with pytest.raises(ValueError, match=r"Inner: expected size >= 1, got 0"):
        from_dict(Outer, {"inner": {"size": 0}})


def test_yaml_then_overrides_and_section_defaults_kept(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("name: from-yaml\ntuned:\n  rate: 0.25\ninner:\n  size: 4\n")
    cfg = load_config(Outer, path, {"inner.size": "32"})
    assert cfg.name == "from-yaml"
    assert cfg.inner.size == 32  # the override wins over the file
    assert cfg.tuned.size == 99 and cfg.tuned.rate == 0.25  # the section's own default survives a partial YAML


def test_bad_yaml_and_missing_file_are_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match="bad.yaml: expected a mapping"):
        load_config(Outer, bad)
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load_config(Outer, tmp_path / "nope.yaml")


def test_replace_with_dotted_names():
    cfg = replace(from_dict(Outer, {}), **{"inner.rate": 0.1})
    assert cfg.inner.rate == 0.1 and cfg.inner.size == 8


def test_command_line_options_from_fields():
    p = argparse.ArgumentParser()
    add_config_arguments(p, Outer)
    names = [n for n, *_ in iter_fields(Outer)]
    assert "inner.size" in names and "tuned.rate" in names
    args = p.parse_args(["--inner.size", "12", "--tuned.flag", "yes"])
    over = overrides_from_args(args)
    assert over == {"inner.size": "12", "tuned.flag": "yes"}  # only the options typed
    cfg = load_config(Outer, None, over)
    assert cfg.inner.size == 12 and cfg.tuned.flag is True and cfg.tuned.size == 99
    assert "(default: 99)" in p.format_help()


def test_forecast_config_validates():
    from lstmkit.tasks.forecast.config import ForecastConfig

    with pytest.raises(ValueError, match="ForecastConfig: expected horizon >= 1, got 0"):
        from_dict(ForecastConfig, {"horizon": 0})
    with pytest.raises(ValueError, match="ModelConfig: expected cell in"):
        from_dict(ForecastConfig, {"model": {"cell": "gru"}})
    with pytest.raises(ValueError, match="TrainConfig: expected lr > 0"):
        from_dict(ForecastConfig, {"train": {"lr": 0}})
    cfg = from_dict(ForecastConfig, {"train": {"epochs": 3}})
    assert cfg.train.epochs == 3 and cfg.train.lr == ForecastConfig().train.lr  # forecasting's own defaults kept
