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


def test_env_as_a_subprocess():
    res = subprocess.run([sys.executable, "-m", "lstmkit", "env"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "backends:" in res.stdout and "reference" in res.stdout


def test_help_lists_commands_and_import_is_light():
    res = subprocess.run([sys.executable, "-m", "lstmkit", "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "env" in res.stdout
    code = "import sys, lstmkit; heavy = [m for m in ('lightning', 'pandas', 'matplotlib', 'triton') if m in sys.modules]; print(heavy)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.stdout.strip() == "[]", res.stdout
