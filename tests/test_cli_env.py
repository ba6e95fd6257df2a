"""``lstmkit env`` and the top-level command, in-process and as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

from lstmkit.cli.main import main


def test_env_json_in_process(capsys):
    assert main(["env", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["versions"]["torch"]
    assert info["backends"]["reference"] == "available"
    assert "cpu" in info["devices"]
    # one line per GPU on what auto does there; none without one
    assert bool(info["auto_cuda"]) == (len(info["devices"]) > 1)


def test_env_as_a_subprocess():
    res = subprocess.run([sys.executable, "-m", "lstmkit", "env"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "backends:" in res.stdout and "reference" in res.stdout


HEAVY = ("torch", "lightning", "pandas", "matplotlib", "triton")


def _heavy_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint([m for m in {HEAVY!r} if m in sys.modules])"
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return eval(res.stdout.strip().splitlines()[-1])


def test_help_lists_commands_and_import_is_light():
    res = subprocess.run([sys.executable, "-m", "lstmkit", "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "env" in res.stdout
    assert _heavy_after("import lstmkit") == []


def test_help_of_every_command_imports_no_heavy_module():
    from lstmkit.cli.main import COMMANDS

    for command in [None, *COMMANDS]:
        argv = ["--help"] if command is None else [command, "--help"]
        code = ("from lstmkit.cli.main import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass" % argv)
        assert _heavy_after(code) == [], f"lstmkit {' '.join(argv)} imports heavy modules"


def test_lazy_names_resolve():
    import lstmkit

    assert lstmkit.LSTM.__name__ == "LSTM" and callable(lstmkit.load)
    assert "Forecaster" in dir(lstmkit)
