"""Tasks: data -> model -> metrics -> report, one sub-package per task."""
