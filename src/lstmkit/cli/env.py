"""``lstmkit env``: versions, threads, devices and which backends can run."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("env", help="show versions, threads, devices and available backends",
                       description="Print the versions of lstmkit and its dependencies, the CPU threads, "
                       "the accelerators torch sees, and each engine backend with the reason it is unavailable.")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def collect() -> dict:
    import importlib.metadata as md
    import os
    import platform

    import torch

    from lstmkit import __version__
    from lstmkit.kernels import backend_status
    from lstmkit.kernels.cpu import auto_table_status

    versions = {"lstmkit": __version__, "python": platform.python_version(), "torch": torch.__version__}
    for dist in ("numpy", "lightning", "safetensors", "pandas", "matplotlib", "triton", "tokenizers"):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            versions[dist] = "not installed"
    devices = ["cpu"]
    cuda_auto = {}
    if torch.cuda.is_available():
        devices += [f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())]
        try:
            from lstmkit.kernels.triton import cuda_auto_status
        except ImportError as exc:  # no triton: cuDNN and the reference loop only
            cuda_auto = {"all": f"triton cannot be imported ({exc}): plain cells on cuDNN, the others on the reference loop"}
        else:
            cuda_auto = {f"cuda:{i}": cuda_auto_status(torch.cuda.get_device_capability(i))
                         for i in range(torch.cuda.device_count())}
    return {
        "versions": versions,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "devices": devices,
        "backends": backend_status(),
        "auto_table": auto_table_status(),
        "auto_cuda": cuda_auto,
    }


def run(args: argparse.Namespace) -> int:
    info = collect()
    if args.json:
        import json

        print(json.dumps(info, indent=2))
        return 0
    print("versions:")
    for k, v in info["versions"].items():
        print(f"  {k:12s} {v}")
    print(f"platform:      {info['platform']}")
    print(f"cpu threads:   {info['torch_threads']} of {info['cpu_count']} cores (oneDNN: {info['mkldnn']})")
    print("devices:       " + ", ".join(info["devices"]))
    print("backends:")
    for k, v in info["backends"].items():
        print(f"  {k:12s} {v}")
    table = info["auto_table"]
    if table["measured"]:
        print(f"auto on CPU:   measured on this machine ({table['source']}, threads {', '.join(table['threads'])})")
    else:
        print(f"auto on CPU:   {table['source']}: plain LSTM/GRU/RNN calls go to torch.nn; "
              "`lstmkit calibrate` measures this machine")
    for device, line in info["auto_cuda"].items():
        print(f"auto on {device}: {line}")
    return 0
