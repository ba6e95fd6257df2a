"""The ``lstmkit`` command line (one module per command)."""
