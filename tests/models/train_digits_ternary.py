#!/usr/bin/python3
"""Train a ternary-weight version of the demo digits CNN (the same network as demo/digits/train_digits.py).

Run from anywhere (Debian's python3-torch 1.13, python3-onnx, python3-sklearn):

    /usr/bin/python3 tests/models/train_digits_ternary.py

The three middle convolutions (TERNARY_LAYERS) train with a ternary weight quantizer (TWN, Li & Liu 2016: per output
channel, threshold delta = 0.7 * mean|w|, scale alpha = mean of |w| above it, weights alpha * {-1, 0, +1};
straight-through gradient), after the float network has trained as in the demo. The exported ONNX file holds the ternary weights
themselves (float values alpha_c * t), with the BatchNormalization layers after the convolutions, so each output
channel's weights take at most three values {-a, 0, +a} once BatchNormalization is folded in: what TinyML.Sdk detects and
stores as 2-bit codes.

Deterministic: fixed seeds, single thread, deterministic torch algorithms, the demo's split. Writes:
  tests/models/digits_ternary.onnx             the model (opset 13, input [1,1,8,8], softmax output)
  tests/models/data/digits_ternary/metrics.json  held-out accuracy (the demo's 450 test digits), weight statistics
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "demo", "digits"))
sys.path.insert(0, os.path.join(REPO, "tools", "python"))
import train_digits as demo  # noqa: E402  (the demo's network, split and float training)
import onnx_numpy_ref  # noqa: E402

OUT_ONNX = os.path.join(HERE, "digits_ternary.onnx")
OUT_DIR = os.path.join(HERE, "data", "digits_ternary")
TERNARY_EPOCHS = 80
TERNARY_LR = 3e-3
# The first layer (one input channel, 9 weights per output channel) and the classifier keep float weights (int8 in the
# build), as ternary networks usually do; the three middle convolutions, 2,504 of the model's 2,736 weights, are ternary.
TERNARY_LAYERS = ("dw", "pw", "res")


def ternary_values(w: torch.Tensor) -> torch.Tensor:
    """TWN per output channel: alpha * {-1, 0, +1} with threshold 0.7 * mean|w| (exactly these values)."""
    flat = w.detach().reshape(w.shape[0], -1)
    delta = 0.7 * flat.abs().mean(dim=1, keepdim=True)
    mask = (flat.abs() > delta).float()
    alpha = (flat.abs() * mask).sum(dim=1, keepdim=True) / mask.sum(dim=1, keepdim=True).clamp(min=1.0)
    return (alpha * flat.sign() * mask).reshape(w.shape)


def ternarize(w: torch.Tensor) -> torch.Tensor:
    """The ternary values forward, the straight-through gradient backward."""
    return w + (ternary_values(w) - w).detach()


class TernaryConv2d(nn.Conv2d):
    def forward(self, x):
        return F.conv2d(x, ternarize(self.weight), self.bias, self.stride, self.padding, self.dilation, self.groups)


class TernaryLinear(nn.Linear):
    def forward(self, x):
        return F.linear(x, ternarize(self.weight), self.bias)


def to_ternary_modules(net: nn.Module, top: bool = True) -> None:
    """Swaps every Conv2d/Linear of the TERNARY_LAYERS for its ternary twin, keeping the trained parameters."""
    for name, child in list(net.named_children()):
        if top and name not in TERNARY_LAYERS:
            continue
        if isinstance(child, nn.Conv2d):
            t = TernaryConv2d(child.in_channels, child.out_channels, child.kernel_size, child.stride, child.padding,
                              child.dilation, child.groups, bias=child.bias is not None)
            t.load_state_dict(child.state_dict())
            setattr(net, name, t)
        elif isinstance(child, nn.Linear):
            t = TernaryLinear(child.in_features, child.out_features, bias=child.bias is not None)
            t.load_state_dict(child.state_dict())
            setattr(net, name, t)
        else:
            to_ternary_modules(child, top=False)


def bake_ternary(net: nn.Module) -> None:
    """Replaces every ternary module by a plain one whose weights are the ternary values, for the export."""
    for name, child in list(net.named_children()):
        if isinstance(child, (TernaryConv2d, TernaryLinear)):
            with torch.no_grad():
                # The exact ternary values: w + (t - w) of the straight-through form rounds away from t.
                child.weight.copy_(ternary_values(child.weight))
            plain = (nn.Conv2d(child.in_channels, child.out_channels, child.kernel_size, child.stride, child.padding,
                               child.dilation, child.groups, bias=child.bias is not None)
                     if isinstance(child, TernaryConv2d) else nn.Linear(child.in_features, child.out_features, bias=child.bias is not None))
            plain.load_state_dict(child.state_dict())
            setattr(net, name, plain)
        else:
            bake_ternary(child)


def accuracy(model, x, y):
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).numpy().argmax(1)
    return int((pred == y).sum())


def main():
    demo.set_determinism()
    xtr, ytr, _, xte, yte, _ = demo.load_split()
    net = demo.DigitsNet()
    demo.train(net, xtr, ytr)
    net.eval()
    float_correct = accuracy(demo.WithSoftmax(net).eval(), xte, yte)
    print(f"float: {float_correct}/{len(yte)}")

    to_ternary_modules(net)
    demo.EPOCHS, demo.LR = TERNARY_EPOCHS, TERNARY_LR
    demo.train(net, xtr, ytr)
    net.eval()
    bake_ternary(net)
    model = demo.WithSoftmax(net).eval()
    ternary_correct = accuracy(model, xte, yte)
    print(f"ternary: {ternary_correct}/{len(yte)}")

    torch.onnx.export(model, torch.from_numpy(xte[:1]), OUT_ONNX, opset_version=demo.OPSET,
                      input_names=["input"], output_names=["output"],
                      training=torch.onnx.TrainingMode.EVAL, do_constant_folding=True, export_params=True)
    m = onnx.load(OUT_ONNX)
    onnx.checker.check_model(m, full_check=True)

    onnx_correct = 0
    max_diff = 0.0
    with torch.no_grad():
        for i in range(len(yte)):
            ref = model(torch.from_numpy(xte[i:i + 1])).numpy()
            got = onnx_numpy_ref.run(m, {"input": xte[i:i + 1]})["output"]
            max_diff = max(max_diff, float(np.abs(ref - got).max()))
            onnx_correct += int(got.argmax() == yte[i])
    print(f"ONNX vs torch: max |diff| {max_diff:.3g}, ONNX accuracy {onnx_correct}/{len(yte)}")
    if max_diff > 1e-4 or onnx_correct != ternary_correct:
        raise SystemExit("ONNX export does not match torch")

    # What the compiler will see: per output channel, the distinct magnitudes of each weight initializer.
    layers = {}
    for init in m.graph.initializer:
        w = onnx.numpy_helper.to_array(init)
        if w.ndim < 2:
            continue
        rows = w.reshape(w.shape[0], -1)  # Conv [out, in, kh, kw]; torch's Gemm [out, in] (transB = 1)
        magnitudes = max(len(set(np.abs(r[r != 0]).tolist())) for r in rows)
        layers[init.name] = {"shape": list(w.shape), "max_distinct_nonzero_magnitudes_per_channel": magnitudes,
                             "zero_fraction": float("%.4f" % float((w == 0).mean()))}

    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "metrics.json"), "w", newline="\n") as f:
        json.dump({
            "dataset": "the demo's held-out split (demo/digits/test_inputs.npy, 450 digits)",
            "float_test_correct": float_correct,
            "ternary_test_correct": ternary_correct,
            "n_test": int(len(yte)),
            "ternary": "TWN per output channel (delta = 0.7 mean|w|), straight-through gradient",
            "ternary_epochs": TERNARY_EPOCHS, "ternary_lr": TERNARY_LR,
            "float_training": {"epochs": 40, "lr": 3e-3, "script": "demo/digits/train_digits.py"},
            "onnx_vs_torch_max_abs_diff": float("%.3g" % max_diff),
            "initializers": layers,
            "torch_version": torch.__version__.split("+")[0],
            "onnx_version": onnx.__version__,
        }, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
