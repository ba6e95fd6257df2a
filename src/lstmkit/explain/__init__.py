"""Seeing inside and showing results: plots, gate traces, interpretable units, experiments and HTML reports.

- :mod:`.traces`: :class:`~.traces.Traces` (per-step gate values of one
  sequence, JSON/CSV), :func:`~.traces.layer_traces` for any lstmkit recurrent
  layer, :class:`~.traces.LayerInputRecorder` to trace a layer inside a model.
- :mod:`.heatmap`: PNG heatmaps aligned with the input, one unit's gates as lines.
- :mod:`.properties`: built-in per-step properties (inside quotes, position in
  the line, sentence boundary, bracket depth, seasonal phase).
- :mod:`.unit_search`: units ranked by correlation with a property.
- :mod:`.experiments`: vanishing gradients, the adding and temporal-order
  tasks, the forget gate at full stops.
- :mod:`.explorer` and :mod:`.explorer_page`: the gate explorer web page.
- :mod:`.html_report`, :mod:`.training_plots`: the task reports.

Loading a task's model folder and turning an input into steps is task
knowledge and lives in :mod:`lstmkit.tasks.explain`.
"""
