"""The shared flags (add_common_args, add_data_args) refuse out-of-range values in one line; pick_device refuses
unknown and absent devices."""

from __future__ import annotations

import pytest
import torch

from facegen.cli.args import Parser, add_common_args, add_data_args
from facegen.core.devices import pick_device
from facegen.core.errors import FacegenError


def parser() -> Parser:
    p = Parser(prog="train.py")
    add_common_args(p)
    add_data_args(p)
    return p


def test_defaults_and_edges_are_accepted():
    args = parser().parse_args([])
    assert (args.seed, args.device, args.toy_n, args.resize, args.val_fraction, args.num_workers) == \
        (0, "auto", 3000, None, 0.1, 0)
    args = parser().parse_args(["--seed", "4294967295", "--device", "CPU", "--toy_n", "4", "--resize", "128",
                                "--val_fraction", "0.999", "--num_workers", "0"])
    assert (args.seed, args.device, args.toy_n, args.resize, args.val_fraction) == (2**32 - 1, "cpu", 4, 128, 0.999)
    assert parser().parse_args(["--resize", "32"]).resize == 32


@pytest.mark.parametrize(("flag", "value", "allowed"), [
    ("--resize", "31", "from 32 to 128"), ("--resize", "129", "from 32 to 128"), ("--resize", "1e9", "from 32"),
    ("--resize", "64.5", "from 32"), ("--val_fraction", "0", "strictly between 0 and 1"),
    ("--val_fraction", "1", "strictly between"), ("--val_fraction", "nan", "strictly between"),
    ("--toy_n", "3", ">= 4"), ("--toy_n", "-1", ">= 4"), ("--num_workers", "-1", ">= 0"),
    ("--seed", "-1", "from 0 to 4294967295"), ("--seed", "4294967296", "from 0"), ("--seed", "inf", "from 0"),
    ("--device", "banana", "auto, cpu, cuda, cuda:N"), ("--device", "cuda:-1", "auto, cpu"),
])
def test_out_of_range_values_are_one_line_errors(capsys, flag, value, allowed):
    with pytest.raises(SystemExit) as stop:
        parser().parse_args([f"{flag}={value}"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"train.py: error: argument {flag}: expected ") and allowed in lines[0], lines[0]
    assert f"got {value!r}" in lines[0]


def test_pick_device_refuses_unknown_names_in_one_line():
    for name in ("banana", "cuda:x", "gpu0"):
        with pytest.raises(FacegenError, match=rf"^--device: expected a device: auto, .* got '{name}'$"):
            pick_device(name)
    assert pick_device("cpu") == torch.device("cpu") and pick_device(" CPU ") == torch.device("cpu")


def test_pick_device_refuses_absent_devices(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(FacegenError, match="^--device cuda:1 was asked for but no CUDA GPU is visible: use --device "
                                           "cpu$"):
        pick_device("cuda:1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert pick_device("cuda:1") == torch.device("cuda:1") and pick_device("cuda") == torch.device("cuda")
    with pytest.raises(FacegenError, match=r"--device cuda:2: only 2 CUDA GPUs visible: use --device cuda:0 to cuda:1"):
        pick_device("cuda:2")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(FacegenError, match=r"only 1 CUDA GPU visible: use --device cuda:0$"):
        pick_device("cuda:1")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(FacegenError, match="no Apple GPU .MPS. is available: use --device cpu"):
        pick_device("mps")
