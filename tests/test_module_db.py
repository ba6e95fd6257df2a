"""PyTorch's own module tests, run on lstmkit's drop-ins.

``torch.testing._internal.common_modules.module_db`` holds torch's test
inputs for every module; its six entries for ``nn.LSTM``, ``GRU``, ``RNN``,
``LSTMCell``, ``GRUCell`` and ``RNNCell`` (packed sequences, unbatched inputs,
projections, bidirectional stacks, ...) are built here as torch modules,
converted with :func:`lstmkit.nn.from_torch`, and both are run on the same
inputs: outputs, final states and every gradient (input, state, parameters)
must agree, in float32 and float64, in training and evaluation, on ``auto``
and on the ``cpu`` engine. The bad inputs of ``module_error_inputs_func`` must
raise the exception type torch raises.

The full grid is slow (``--runslow``); the default run takes float32 in
training, where the engines' float32 arithmetic is most visible.
"""

from __future__ import annotations

import copy
import sys
import types
import unittest

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence

import lstmkit

# torch's testing internals import expecttest only for a TestCase base class
if "expecttest" not in sys.modules:
    try:
        import expecttest  # noqa: F401
    except ImportError:
        _shim = types.ModuleType("expecttest")
        _shim.TestCase = unittest.TestCase
        sys.modules["expecttest"] = _shim

_frozen_before = torch.backends.flags_frozen()
common_modules = pytest.importorskip("torch.testing._internal.common_modules")
# importing torch's test utilities freezes torch.backends' global flags
# (disable_global_flags) for the whole process, which breaks every later test
# that sets a flag (Lightning's deterministic seeding): undo it
if not _frozen_before and torch.backends.flags_frozen():
    torch.backends.flags_frozen.__globals__["__allow_nonbracketed_mutation_flag"] = True
assert torch.backends.flags_frozen() == _frozen_before

CLASSES = (torch.nn.LSTM, torch.nn.GRU, torch.nn.RNN, torch.nn.LSTMCell, torch.nn.GRUCell, torch.nn.RNNCell)
INFOS = {m.module_cls.__name__: m for m in common_modules.module_db if m.module_cls in CLASSES}
#: torch.testing's own defaults for comparing float32 / float64
TOL = {torch.float32: dict(rtol=1.3e-6, atol=1e-5), torch.float64: dict(rtol=1e-7, atol=1e-7)}


def _tensors(obj):
    """Every tensor in a nested output, in order (a PackedSequence by its data)."""
    if isinstance(obj, PackedSequence):
        return [obj.data]
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in _tensors(o)]
    return []


def _leaves(obj):
    return [t for t in _tensors(obj) if t.requires_grad and t.is_leaf]


def _run(module, args, kwargs, seed_grad):
    args = copy.deepcopy(args)
    kwargs = copy.deepcopy(kwargs)
    torch.manual_seed(0)
    out = module(*args, **kwargs)
    outs = _tensors(out)
    g = torch.Generator().manual_seed(seed_grad)
    loss = sum((o * torch.randn(o.shape, generator=g, dtype=o.dtype)).sum() for o in outs if o.requires_grad)
    inputs = _leaves(args) + _leaves(kwargs)
    params = [p for _, p in sorted(module.named_parameters(), key=lambda kv: _torch_name(module, kv[0]))]
    grads = torch.autograd.grad(loss, inputs + params, allow_unused=True) if torch.is_tensor(loss) else []
    return [o.detach() for o in outs], list(grads)


def _torch_name(module, name: str) -> str:
    """torch.nn's name of a parameter (lstmkit layers keep them per cell)."""
    if not name.startswith("cells."):
        return name
    _, k, param = name.split(".")
    layer, direction = divmod(int(k), module.num_directions)
    return f"{param}_l{layer}{'_reverse' if direction else ''}"


def compare(info_name: str, dtype: torch.dtype, training: bool, backend: str) -> int:
    info = INFOS[info_name]
    inputs = info.module_inputs_func(info, device="cpu", dtype=dtype, requires_grad=True, training=training)
    checked = 0
    for k, case in enumerate(inputs):
        c_args, c_kwargs = case.constructor_input.args, case.constructor_input.kwargs
        torch.manual_seed(k)
        ref = info.module_cls(*c_args, **c_kwargs).to(dtype).train(training)
        kw = {} if "Cell" in info_name else {"backend": backend}
        ours = lstmkit.nn.from_torch(ref, **kw).train(training)
        assert ours.state_dict().keys() == ref.state_dict().keys()
        if training and float(getattr(ref, "dropout", 0.0)) > 0:
            continue  # different random masks: nothing to compare
        f_args, f_kwargs = case.forward_input.args, case.forward_input.kwargs
        want_out, want_grads = _run(ref, f_args, f_kwargs, k)
        got_out, got_grads = _run(ours, f_args, f_kwargs, k)
        what = f"{info_name}[{k}] {c_args} {c_kwargs} {dtype} {'train' if training else 'eval'} {backend}"
        assert len(got_out) == len(want_out), what
        for i, (a, b) in enumerate(zip(got_out, want_out)):
            torch.testing.assert_close(a, b, **TOL[dtype], msg=lambda m: f"{what}: output {i}: {m}")
        assert len(got_grads) == len(want_grads), what
        for i, (a, b) in enumerate(zip(got_grads, want_grads)):
            if b is None:
                assert a is None or not a.any(), what
                continue
            torch.testing.assert_close(a, b, **TOL[dtype], msg=lambda m: f"{what}: gradient {i}: {m}")
        checked += 1
    return checked


FAST = [(name, torch.float32, True, "auto") for name in INFOS] + [
    (name, torch.float32, True, "cpu") for name in ("LSTM", "GRU", "RNN")
]
FULL = [
    (name, dtype, training, backend)
    for name in INFOS
    for dtype in (torch.float32, torch.float64)
    for training in (True, False)
    for backend in (("auto", "cpu", "reference") if "Cell" not in name else ("auto",))
]


def test_module_db_has_the_six_entries():
    assert sorted(INFOS) == sorted(c.__name__ for c in CLASSES)


@pytest.mark.parametrize("name,dtype,training,backend", FAST, ids=lambda v: str(v).replace("torch.", ""))
def test_module_db_matches_torch(name, dtype, training, backend):
    assert compare(name, dtype, training, backend) > 0


@pytest.mark.slow
@pytest.mark.parametrize("name,dtype,training,backend", FULL, ids=lambda v: str(v).replace("torch.", ""))
def test_module_db_matches_torch_full(name, dtype, training, backend):
    compare(name, dtype, training, backend)


def _error_cases():
    for name, info in INFOS.items():
        if info.module_error_inputs_func is None:
            continue
        errs = info.module_error_inputs_func(info, device="cpu", dtype=torch.float32, requires_grad=False, training=True)
        for k, e in enumerate(errs):
            yield pytest.param(name, k, id=f"{name}-{k}")


@pytest.mark.parametrize("name,k", list(_error_cases()))
def test_module_db_bad_inputs_raise_torch_exception_types(name, k):
    info = INFOS[name]
    e = info.module_error_inputs_func(info, device="cpu", dtype=torch.float32, requires_grad=False, training=True)[k]
    mi = e.module_error_input
    c_args, c_kwargs = mi.constructor_input.args, mi.constructor_input.kwargs
    if e.error_on == common_modules.ModuleErrorEnum.CONSTRUCTION_ERROR:
        ours_cls = getattr(lstmkit.nn, name)
        with pytest.raises(e.error_type):
            ours_cls(*c_args, **c_kwargs)
        return
    ref = info.module_cls(*c_args, **c_kwargs)
    ours = lstmkit.nn.from_torch(ref)
    with pytest.raises(e.error_type):
        ours(*mi.forward_input.args, **mi.forward_input.kwargs)
