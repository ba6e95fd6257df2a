"""``lstmkit explain [trace|units|serve]``: look inside a trained model's LSTM.

- ``trace`` (the default): per-step forget, input and output gates, candidate,
  cell and hidden state of chosen layers and units for one input, as PNG
  heatmaps aligned with the input and as JSON and CSV.
- ``units``: rank units by how well they track a property (built in, or one
  value per step from a file) and plot the best ones.
- ``serve``: the gate explorer page on a local web server.
"""

from __future__ import annotations

import argparse

_EPILOG = """examples:
  lstmkit explain --model runs/lm-input/model --text "First Citizen: Before we proceed." --units 0-15
  lstmkit explain --model runs/anomaly-mitdb/model --series ../shared/data/anomaly/mitdb.csv --layers 0 --out runs/explain-ecg
  lstmkit explain units --model runs/lm-input/model --text-file ../shared/data/tinyshakespeare/input.txt --max-chars 5000 --property inside_quotes
  lstmkit explain units --model runs/forecast-airline/model --series airline.csv --property seasonal_phase --period 12
  lstmkit explain --model runs/translate-eng-fra/model --text "I am cold." --part decoder --out runs/explain-decoder
  lstmkit explain serve --model runs/lm-input/model --port 0
"""

ACTIONS = ("trace", "units", "serve")
PARTS = ("encoder", "decoder")


def add_parser(sub) -> None:
    p = sub.add_parser("explain", help="gate traces, interpretable units and the gate explorer page",
                       description="Trace the gates of a trained model of any task on an input (characters or words "
                       "for text, time steps for series), find units that track a property, or serve the gate "
                       "explorer page.", epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", nargs="?", default="trace", choices=ACTIONS,
                   help="trace (default): heatmaps + JSON/CSV; units: interpretable-unit search; serve: the web page")
    p.add_argument("--model", required=True, metavar="DIR", help="a model folder written by any lstmkit task (…/model)")
    src = p.add_argument_group("input (one of them; serve needs none)")
    src.add_argument("--text", help="text to trace (text models)")
    src.add_argument("--text-file", metavar="FILE", help="read the text from a UTF-8 file")
    src.add_argument("--series", metavar="CSV|NUMBERS", help="series models: a CSV file or comma-separated numbers "
                     "(a forecaster: default the file it was fitted on, where its configuration names one)")
    src.add_argument("--column", default="", help="with a CSV --series: the value column (default: every numeric column)")
    src.add_argument("--row", type=int, default=0, metavar="N",
                     help="with a CSV --series of one series per row (a classifier's wide file): the row to trace "
                          "(default 0, the first)")
    src.add_argument("--max-chars", type=int, default=2000, help="use at most this many characters of the text (default 2000)")
    sel = p.add_argument_group("what to show")
    sel.add_argument("--part", choices=PARTS, default=None,
                     help="encoder-decoder models (translate): trace the encoder (default: the source tokens, both "
                          "directions) or the decoder (along the model's own greedy translation)")
    sel.add_argument("--layers", default="", help="layers, e.g. 0 or 0,1 (default all)")
    sel.add_argument("--units", default="", help="units, e.g. 0-15, 3,7,42 or all (default: the first 16; for `units`: the best)")
    sel.add_argument("--gates", default="", help="gate names, e.g. f,i,o,g,c,h (default all of the cell's)")
    sel.add_argument("--max-steps", type=int, default=300, help="steps shown in the heatmaps (the files hold all)")
    sel.add_argument("--out", metavar="DIR", default="runs/explain", help="output folder (default runs/explain)")
    us = p.add_argument_group("units")
    us.add_argument("--property", default="", help="built in: inside_quotes, line_position, sentence_boundary, "
                    "bracket_depth, seasonal_phase, seasonal_phase_sin")
    us.add_argument("--property-file", metavar="FILE", help="one number per step (a line each, or a CSV's last column)")
    us.add_argument("--period", type=int, default=0, help="steps per season for seasonal_phase")
    us.add_argument("--top", type=int, default=10, help="units to report (default 10)")
    sv = p.add_argument_group("serve")
    sv.add_argument("--host", default="127.0.0.1",
                    help="interface (default 127.0.0.1: this machine only); requests must name this server in their "
                         "Host header (localhost, 127.0.0.1, [::1] or this address), so other sites cannot reach it")
    sv.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.set_defaults(func=run)


def parse_list(spec: str, what: str) -> list[int] | None:
    """``"0-3,7"`` -> ``[0, 1, 2, 3, 7]``; empty -> ``None``."""
    if not spec.strip():
        return None
    out: list[int] = []
    try:
        for part in spec.split(","):
            part = part.strip()
            if "-" in part[1:]:
                a, b = part.split("-", 1)
                out.extend(range(int(a), int(b) + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        raise ValueError(f"explain: expected {what} like 0-15 or 3,7,42, got {spec!r}") from None
    return out


def _input(args, ex):
    from pathlib import Path

    given = [k for k in ("text", "text_file", "series") if getattr(args, k)]
    if not given and ex.kind == "forecast-lstm":
        trained_on = ex.estimator.training_file()
        if trained_on is not None:
            print(f"explain: no --series: the data the model was fitted on, {trained_on}")
            return trained_on  # (read like the training data; the trace is of the window before its end)
    if len(given) != 1:
        raise ValueError(f"explain: expected one of --text, --text-file or --series, got {len(given)}")
    if ex.input_kind == "text":
        if args.series:
            raise ValueError(f"explain: a {ex.kind} model reads text; expected --text or --text-file, got --series")
        if args.text_file:
            path = Path(args.text_file)
            if not path.is_file():
                raise FileNotFoundError(f"explain: --text-file {path} does not exist")
            text = path.read_text(encoding="utf-8", errors="replace")
        else:
            text = args.text
        return text[: args.max_chars] if args.max_chars else text
    if not args.series:
        raise ValueError(f"explain: a {ex.kind} model reads a series; expected --series, got text")
    import numpy as np

    from lstmkit.tasks.explain.models import is_file, read_series

    if ex.kind == "forecast-lstm" and is_file(args.series):
        return args.series

    values, _ = read_series(args.series, args.column)
    encoder = getattr(getattr(ex, "estimator", None), "encoder_", None)
    if (getattr(encoder, "kind", "") == "series" and getattr(encoder, "channels", 0) == 1 and values.shape[1] > 1
            and not args.column and is_file(args.series)):  # one series per row, as a classifier's wide file
        if not 0 <= args.row < len(values):
            raise ValueError(f"explain: --row {args.row}: {args.series} has rows 0-{len(values) - 1}")
        print(f"{args.series}: one series per row (the model reads one channel); tracing row {args.row}")
        row = values[args.row]
        return row[~np.isnan(row)].tolist()
    return values if values.shape[1] > 1 else values[:, 0].tolist()


def _property(args, tr):
    import numpy as np

    from lstmkit.explain.properties import property_values

    if args.property_file:
        from pathlib import Path

        path = Path(args.property_file)
        if not path.is_file():
            raise FileNotFoundError(f"explain units: --property-file {path} does not exist")
        vals = []
        for line in path.read_text().splitlines():
            cells = [c for c in line.replace(";", ",").split(",") if c.strip()]
            try:
                vals.append(float(cells[-1]))
            except (ValueError, IndexError):
                continue  # a header or a blank line
        prop = np.asarray(vals, float)
        if len(prop) < len(tr.labels):
            raise ValueError(f"explain units: expected {len(tr.labels)} property values (one per step), got {len(prop)}")
        return prop[-len(tr.labels):], path.stem
    if not args.property:
        raise ValueError("explain units: expected --property NAME or --property-file FILE, got neither")
    return property_values(args.property, tr.labels, args.period), args.property


def run(args: argparse.Namespace) -> int:
    import sys

    try:
        return _run(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"lstmkit explain: error: {e}", file=sys.stderr)
        return 2


def _run(args) -> int:
    import json
    from pathlib import Path

    from lstmkit.tasks.explain import load_explainable

    ex = load_explainable(args.model, part=args.part)
    if args.action == "serve":
        return _serve(args, ex)
    tr = ex.trace(_input(args, ex))
    layers = parse_list(args.layers, "layers")
    gates = [g.strip() for g in args.gates.split(",") if g.strip()] or None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from lstmkit.explain.heatmap import plot_heatmap, plot_unit_lines

    if args.action == "units":
        from lstmkit.explain.unit_search import rank_units

        prop, name = _property(args, tr)
        best = rank_units(tr, prop, names=gates or ("c", "h"), layers=layers, top=args.top)
        rows = [s.to_dict() for s in best]
        (out / "units.json").write_text(json.dumps({"property": name, "steps": len(tr.labels), "units": rows}, indent=2))
        print(f"units tracking {name} over {len(tr.labels)} steps (Pearson r):")
        for r in rows:
            print(f"  layer {r['layer']} dir {r['direction']} {r['gate']} unit {r['unit']:4d}  r = {r['r']:+.3f}")
        for k, s in enumerate(best[:3]):
            plot_unit_lines(tr, out / f"unit_{k + 1}_layer{s.layer}_unit{s.unit}.png", s.layer, s.unit,
                            names=[s.name], direction=s.direction, prop=prop, prop_name=name, max_steps=args.max_steps,
                            title=f"#{k + 1}: layer {s.layer} unit {s.unit} {s.name}, r = {s.r:+.3f} with {name}")
        top_layer = best[0].layer
        plot_heatmap(tr, out / "units_heatmap.png", layer=top_layer,
                     units=sorted({s.unit for s in best if s.layer == top_layer}), names=gates, max_steps=args.max_steps,
                     title=f"{ex.title}: units tracking {name}")
        print(f"wrote {out / 'units.json'} and plots in {out}")
        return 0
    every = args.units.strip() == "all"
    units = None if every else parse_list(args.units, "units")
    if units is None and not every:  # the first 16 of the narrowest layer, in the plots and the files alike
        units = list(range(min(16, *(tr.hidden_size(l) for l in range(tr.num_layers)))))
    written = []
    for l in (layers if layers is not None else range(tr.num_layers)):
        us = units if units is not None else list(range(tr.hidden_size(l)))
        for d in range(tr.num_directions):
            suffix = f"_dir{d}" if tr.num_directions > 1 else ""
            written.append(plot_heatmap(tr, out / f"heatmap_layer{l}{suffix}.png", layer=l, units=us, names=gates,
                                        direction=d, max_steps=args.max_steps,
                                        title=f"{ex.title}: layer {l}{' backward' if d else ''}"))
    sel = {"layers": layers, "units": units, "names": gates}
    written.append(tr.write_json(out / "traces.json", **sel))
    written.append(tr.write_csv(out / "traces.csv", **sel))
    print(f"traced {len(tr.labels)} steps of {ex.title} ({tr.num_layers} layer(s), gates {', '.join(tr.names)}):")
    for w in written:
        print(f"  {w}")
    return 0


def _serve(args, ex) -> int:
    from lstmkit.explain.explorer import ExplorerServer, traces_info

    probe = ex.trace("Hello." if ex.input_kind == "text" else [0.0] * _min_series(ex))
    server = ExplorerServer(ex.trace, traces_info(probe, ex.title, ex.input_kind), host=args.host, port=args.port)
    print(f"gate explorer for {args.model}: {server.url}  (Ctrl-C to stop)", flush=True)
    if args.host in ("0.0.0.0", "::", ""):
        print(f"note: bound to every interface, but only requests addressed to {', '.join(server.allowed_hosts)} are "
              "answered (Host header); give --host an address of this machine to serve under that address", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _min_series(ex) -> int:
    return int(getattr(ex.model, "input_size", 0) or getattr(getattr(ex.model, "first", None), "input_size", 0) or 8)
