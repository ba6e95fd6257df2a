"""Dataclass configurations shared by every task: YAML in, dotted overrides, strict keys.

A task's configuration is a tree of dataclasses. Each field has a default and
a one-line help (``option(default, "help")``) that also becomes the
command-line ``--help`` text; each class validates itself in ``__post_init__``
and raises ``ValueError``. This module turns that tree into and out of plain
dicts, YAML files and ``--section.field VALUE`` overrides, rejecting every
key it does not know::

    @dataclass
    class ModelConfig:
        hidden_size: int = option(64, "LSTM units per layer")

    @dataclass
    class Config:
        model: ModelConfig = section(ModelConfig)

    cfg = load_config(Config, "run.yaml", {"model.hidden_size": "128"})

Nothing here imports torch or a task, so the command line stays fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def option(default: Any, help: str, **metadata: Any) -> Any:
    """A dataclass field with a default and its help text (shown by ``--help``)."""
    if isinstance(default, (list, dict, set)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata={"help": help, **metadata})
    return dataclasses.field(default=default, metadata={"help": help, **metadata})


def section(cls: type, help: str = "") -> Any:
    """A nested dataclass field whose default is ``cls()``."""
    return dataclasses.field(default_factory=cls, metadata={"help": help or (cls.__doc__ or "").strip()})


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); anything else -> (tp, False)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) < len(typing.get_args(tp)) and len(args) == 1:
            return args[0], True
    return tp, False


def coerce(value: Any, tp: Any, where: str) -> Any:
    """Convert ``value`` (from YAML or the command line) to the annotated type ``tp``.

    Strings are parsed (``"128"`` -> 128, ``"true"`` -> True, ``"none"`` ->
    None for optional fields, ``"1,2"`` -> [1, 2] for lists); anything that
    does not fit raises ``ValueError`` naming the field.
    """
    base, optional = _strip_optional(tp)
    if value is None or (optional and isinstance(value, str) and value.strip().lower() in ("none", "null", "")):
        if optional:
            return None
        raise ValueError(f"{where}: expected a value of type {getattr(base, '__name__', base)}, got None")
    origin = typing.get_origin(base)
    if origin is typing.Literal:
        choices = typing.get_args(base)
        if value not in choices:
            raise ValueError(f"{where}: expected one of {list(choices)}, got {value!r}")
        return value
    if origin in (list, tuple):
        (item,) = typing.get_args(base)[:1] or (Any,)
        if isinstance(value, str):
            value = [v for v in (s.strip() for s in value.split(",")) if v]
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}: expected a list, got {value!r}")
        out = [coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if base is Any:
        return value
    if base is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "on"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("false", "no", "0", "off"):
            return False
        raise ValueError(f"{where}: expected true or false, got {value!r}")
    if base is int:
        if isinstance(value, bool):
            raise ValueError(f"{where}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise ValueError(f"{where}: expected an integer, got {value!r}") from None
    if base is float:
        if isinstance(value, bool):
            raise ValueError(f"{where}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: expected a number, got {value!r}") from None
    if base is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ValueError(f"{where}: expected a string, got {value!r}")
        return str(value)
    return value


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str | None = None) -> T:
    """Build dataclass ``cls`` from a nested dict; unknown keys raise ``ValueError``."""
    where = where or cls.__name__
    data = dict(data or {})
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(fields)}")
    hints = _hints(cls)
    kwargs = {}
    for name, value in data.items():
        tp = hints[name]
        if _is_dataclass_type(tp):
            if isinstance(value, tp):
                kwargs[name] = value
            elif isinstance(value, dict):
                # start from this field's own default (which may differ from tp()'s defaults)
                base = to_dict(_field_default(fields[name]) or tp())
                _merge(base, value)
                kwargs[name] = from_dict(tp, base, f"{where}.{name}")
            else:
                raise ValueError(f"{where}.{name}: expected a mapping of {tp.__name__} fields, got {value!r}")
        else:
            kwargs[name] = coerce(value, tp, f"{where}.{name}")
    return cls(**kwargs)


def _field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def _merge(base: dict[str, Any], update: dict[str, Any]) -> None:
    for k, v in update.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = v


def to_dict(cfg: Any) -> dict[str, Any]:
    """The nested plain-dict form of a config (JSON- and YAML-safe)."""
    out = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            v = to_dict(v)
        elif isinstance(v, tuple):
            v = list(v)
        out[f.name] = v
    return out


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """``set_dotted(d, "model.hidden_size", 128)`` sets ``d["model"]["hidden_size"]``."""
    parts = key.split(".")
    node = data
    for p in parts[:-1]:
        child = node.setdefault(p, {})
        if not isinstance(child, dict):
            raise ValueError(f"config: cannot set {key!r}: {p!r} is a value, not a section")
        node = child
    node[parts[-1]] = value


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML (or JSON) mapping from a file, with errors that name the file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config: file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ValueError(f"config: {path} is not valid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"config: {path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def to_yaml(cfg: Any) -> str:
    """The configuration as YAML, in field order: what ``--config`` reads back."""
    import yaml

    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def load_config(cls: type[T], path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> T:
    """Defaults, then the YAML file at ``path``, then dotted ``overrides``; validated."""
    data = read_yaml(path) if path else {}
    for key, value in (overrides or {}).items():
        set_dotted(data, key, value)
    return from_dict(cls, data)


def replace(cfg: T, **dotted: Any) -> T:
    """A copy of ``cfg`` with dotted fields changed: ``replace(cfg, **{"model.hidden_size": 8})``."""
    data = to_dict(cfg)
    for k, v in dotted.items():
        set_dotted(data, k, v)
    return from_dict(type(cfg), data)


def iter_fields(cls: type, prefix: str = "", default: Any = None):
    """Yield ``(dotted_name, type, default, help)`` for every leaf field of ``cls``.

    Defaults are read from ``default`` (an instance; ``cls()`` if not given), so a
    section whose default differs from its class defaults shows the right values.
    """
    hints = _hints(cls)
    inst = default if default is not None else cls()
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        name = f"{prefix}{f.name}"
        value = getattr(inst, f.name)
        if _is_dataclass_type(tp):
            yield from iter_fields(tp, name + ".", value)
            continue
        yield name, tp, value, f.metadata.get("help", "")


def _type_name(tp: Any) -> str:
    base, optional = _strip_optional(tp)
    if typing.get_origin(base) is typing.Literal:
        name = "|".join(str(a) for a in typing.get_args(base))
    elif typing.get_origin(base) in (list, tuple):
        name = "A,B,..."
    else:
        name = getattr(base, "__name__", str(base)).upper()
    return name + ("|none" if optional else "")


def add_config_arguments(parser: argparse.ArgumentParser, cls: type, title: str = "configuration") -> None:
    """Add one ``--section.field VALUE`` option per leaf field of ``cls``.

    Values stay strings (``default=SUPPRESS``) until :func:`overrides_from_args`
    collects them and :func:`from_dict` coerces and validates them, so a YAML
    file given with ``--config`` is overridden only by options actually typed.
    """
    group = parser.add_argument_group(title, "every field of the configuration; "
                                      "the same keys nest in a --config YAML file")
    for name, tp, default, help in iter_fields(cls):
        if f"--{name}" in parser._option_string_actions:  # a shortcut option already sets it
            continue
        group.add_argument(f"--{name}", dest=f"cfg:{name}", metavar=_type_name(tp), default=argparse.SUPPRESS,
                           help=f"{help} (default: {default!r})".replace("%", "%%"))


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The ``{dotted_name: value}`` overrides given on the command line."""
    return {k[4:]: v for k, v in vars(args).items() if k.startswith("cfg:")}


def leaf_names(cls: type) -> dict[str, list[str]]:
    """``{field name: [dotted names]}`` for every leaf field of ``cls`` (``"epochs": ["train.epochs"]``)."""
    out: dict[str, list[str]] = {}
    for dotted, _, _, _ in iter_fields(cls):
        out.setdefault(dotted.rsplit(".", 1)[-1], []).append(dotted)
    return out


def dotted_params(cls: type, params: dict[str, Any], where: str | None = None) -> dict[str, Any]:
    """Keyword arguments of an estimator as dotted config overrides.

    A flat name that is one field of ``cls`` anywhere in its tree maps to that
    field (``hidden_size=64`` -> ``model.hidden_size``); a section is named
    with a double underscore, as scikit-learn does (``train__seed=1`` ->
    ``train.seed``), which is also how a name found in two sections is told
    apart. Unknown and ambiguous names raise ``ValueError`` saying what would fit.
    """
    import difflib

    where = where or cls.__name__
    leaves = leaf_names(cls)
    dotted_all = [d for names in leaves.values() for d in names]
    out: dict[str, Any] = {}
    for key, value in params.items():
        if "__" in key:
            name = key.replace("__", ".")
            if name not in dotted_all:
                near = difflib.get_close_matches(name, dotted_all, n=3)
                raise ValueError(f"{where}: unknown parameter {key!r}" + (f"; did you mean {[n.replace('.', '__') for n in near]}?" if near else ""))
        elif key in leaves:
            if len(leaves[key]) > 1:
                options = [n.replace(".", "__") for n in leaves[key]]
                raise ValueError(f"{where}: parameter {key!r} is a field of several sections; expected one of {options}")
            name = leaves[key][0]
        else:
            near = difflib.get_close_matches(key, list(leaves), n=3)
            raise ValueError(f"{where}: unknown parameter {key!r}" + (f"; did you mean {near}?" if near else
                             "; see the configuration fields in the class docstring"))
        if name in out:
            raise ValueError(f"{where}: {name!r} given twice")
        out[name] = value
    return out


def config_with_params(cls: type[T], config: T | dict[str, Any] | None = None, params: dict[str, Any] | None = None,
                       where: str | None = None) -> T:
    """``config`` (an instance, a nested dict or ``None`` for the defaults) with estimator keyword arguments applied."""
    if config is None:
        data: dict[str, Any] = {}
    elif isinstance(config, cls):
        data = to_dict(config)
    elif isinstance(config, dict):
        data = dict(config)
    else:
        raise ValueError(f"{where or cls.__name__}: expected config as a {cls.__name__} or a dict, got {type(config).__name__}")
    for key, value in dotted_params(cls, params or {}, where).items():
        set_dotted(data, key, value)
    return from_dict(cls, data)


__all__ = [
    "option", "section", "coerce", "from_dict", "to_dict", "to_yaml", "set_dotted", "read_yaml", "load_config",
    "replace", "iter_fields", "add_config_arguments", "overrides_from_args", "leaf_names", "dotted_params",
    "config_with_params",
]
