#!/usr/bin/python3
"""Train a small binarized neural network (binary weights and binary activations) on the demo's 8x8 digits.

Run from anywhere (Debian's python3-torch 1.13, python3-onnx, python3-sklearn):

    /usr/bin/python3 tests/models/train_digits_bnn.py

The network (BinaryNet / XNOR-Net style; the stem and the classifier keep float weights, as binary networks usually do):

    input [1,1,8,8]
    stem   Conv 3x3 1->32 (float weights) -> BN -> Sign                 [32,8,8]
    bconv1 Conv 3x3 32->16 (binary)       -> BN -> Sign -> MaxPool 2   [16,4,4]
    bconv2 Conv 3x3 16->32 (binary)       -> BN -> Sign -> MaxPool 2   [32,2,2]
    Flatten -> bfc Linear 128->32 (binary) -> BN -> Sign               [32]
    fc Linear 32->10 (float weights) -> Softmax                         [10]

13,920 weights (13,312 binary), so the float32 ONNX file stays under 60 KB. A wide stem keeps more of the input after
its Sign; with these sizes the binarized network was the most accurate of the few tried within that budget.

Binary weights: per output channel alpha_c * sign(w) with alpha_c = mean|w_c| and sign(0) = +1, so each channel's
weights take exactly the two values {-alpha_c, +alpha_c} (with BatchNormalization folded in, {-a, +a} for some a).
Binary activations: sign(x); the backward pass is hardtanh's gradient (straight-through estimator, 1 where |x| <= 1).
Every binary layer's input is a Sign output (or a MaxPool of one), so it is an XNOR/popcount layer, and each MaxPool
sits after its Sign (Conv -> BN -> Sign -> MaxPool), so the BatchNormalization stays next to its convolution (the
exporter folds the Convs' into them; the Gemm's stays a BatchNormalization node). The binary Convs pad with 0 (pads 1):
at the border their input holds zeros beside the +-1 values, which an XNOR kernel has to leave out of the sum.

Training: first the float network (float weights, hardtanh where the Signs go) with the demo's loop
(demo/digits/train_digits.py: Adam, cosine schedule, its seeds and split), then the binarized one fine-tuned from it.
For the export the binary layers become plain Conv2d/Linear holding the exact binary values and the activations a
module calling torch.sign, so the ONNX graph has plain Conv/Gemm initializers and Sign nodes (no custom ops).

Deterministic: fixed seeds, single thread, deterministic torch algorithms, the demo's split. Writes:
  tests/models/digits_bnn.onnx               the model (opset 13, input [1,1,8,8], softmax output [1,10])
  tests/models/data/digits_bnn/metrics.json  held-out accuracy (the demo's 450 test digits), weight statistics
"""
from __future__ import annotations

import hashlib
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
import train_digits as demo  # noqa: E402  (the demo's split, determinism and training loop)
import onnx_numpy_ref  # noqa: E402

OUT_ONNX = os.path.join(HERE, "digits_bnn.onnx")
OUT_DIR = os.path.join(HERE, "data", "digits_bnn")
C1, C2, C3, HIDDEN = 32, 16, 32, 32
FLOAT_EPOCHS, FLOAT_LR = 40, 3e-3
BINARY_EPOCHS, BINARY_LR = 160, 1e-3
BINARY_LAYERS = ("bconv1", "bconv2", "bfc")


class SignSTE(torch.autograd.Function):
    """sign(x) forward (exactly torch.sign, as the exported Sign node), hardtanh's gradient backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sign(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


def binary_values(w: torch.Tensor) -> torch.Tensor:
    """Per output channel alpha * {-1, +1}, alpha = mean|w|, sign(0) = +1 (exactly these two values)."""
    flat = w.detach().reshape(w.shape[0], -1)
    alpha = flat.abs().mean(dim=1, keepdim=True)
    return (alpha * torch.where(flat >= 0, torch.ones_like(flat), -torch.ones_like(flat))).reshape(w.shape)


class BinarizeSTE(torch.autograd.Function):
    """The binary values forward (exact, unlike w + (b - w).detach()), the identity gradient backward."""

    @staticmethod
    def forward(ctx, w):
        return binary_values(w)

    @staticmethod
    def backward(ctx, g):
        return g


class Act(nn.Module):
    """The binary activation's place: hardtanh while the float network trains, sign (STE) once binarized."""

    def __init__(self):
        super().__init__()
        self.binary = False

    def forward(self, x):
        return SignSTE.apply(x) if self.binary else F.hardtanh(x)


class Sign(nn.Module):
    """The export form of Act: plain torch.sign, which exports as the ONNX Sign op."""

    def forward(self, x):
        return torch.sign(x)


class BinaryConv2d(nn.Conv2d):
    def forward(self, x):
        return F.conv2d(x, BinarizeSTE.apply(self.weight), self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class BinaryLinear(nn.Linear):
    def forward(self, x):
        return F.linear(x, BinarizeSTE.apply(self.weight), self.bias)


class BnnNet(nn.Module):
    """Returns logits; see the module docstring for the layers."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, C1, 3, padding=1), nn.BatchNorm2d(C1), Act())
        self.bconv1 = nn.Sequential(nn.Conv2d(C1, C2, 3, padding=1), nn.BatchNorm2d(C2), Act(), nn.MaxPool2d(2))
        self.bconv2 = nn.Sequential(nn.Conv2d(C2, C3, 3, padding=1), nn.BatchNorm2d(C3), Act(), nn.MaxPool2d(2))
        self.bfc = nn.Sequential(nn.Linear(C3 * 2 * 2, HIDDEN), nn.BatchNorm1d(HIDDEN), Act())
        self.fc = nn.Linear(HIDDEN, 10)

    def forward(self, x):
        x = self.bconv2(self.bconv1(self.stem(x)))
        return self.fc(self.bfc(torch.flatten(x, 1)))


def binarize(net: BnnNet) -> None:
    """Signs for every activation, and binary twins (same parameters) for the BINARY_LAYERS' Conv2d/Linear."""
    for m in net.modules():
        if isinstance(m, Act):
            m.binary = True
    for name in BINARY_LAYERS:
        seq = getattr(net, name)
        old = seq[0]
        if isinstance(old, nn.Conv2d):
            new = BinaryConv2d(old.in_channels, old.out_channels, old.kernel_size, old.stride, old.padding,
                               old.dilation, old.groups, bias=old.bias is not None)
        else:
            new = BinaryLinear(old.in_features, old.out_features, bias=old.bias is not None)
        new.load_state_dict(old.state_dict())
        seq[0] = new


def bake(net: BnnNet) -> None:
    """The export form: plain Conv2d/Linear holding the exact binary values, Sign modules for the activations."""
    for name in BINARY_LAYERS:
        seq = getattr(net, name)
        old = seq[0]
        with torch.no_grad():
            old.weight.copy_(binary_values(old.weight))
        if isinstance(old, nn.Conv2d):
            new = nn.Conv2d(old.in_channels, old.out_channels, old.kernel_size, old.stride, old.padding,
                            old.dilation, old.groups, bias=old.bias is not None)
        else:
            new = nn.Linear(old.in_features, old.out_features, bias=old.bias is not None)
        new.load_state_dict(old.state_dict())
        seq[0] = new
    for seq in (net.stem, net.bconv1, net.bconv2, net.bfc):
        for i, m in enumerate(seq):
            if isinstance(m, Act):
                seq[i] = Sign()


def accuracy(model, x, y):
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).numpy().argmax(1)
    return int((pred == y).sum())


def sign_input_zeros(net: BnnNet, x) -> int:
    """How many values reaching a Sign are exactly 0 on x (sign(0) = 0 would be a third activation value)."""
    seen = []
    hooks = [m.register_forward_hook(lambda _m, inp, _out: seen.append(int((inp[0] == 0).sum())))
             for m in net.modules() if isinstance(m, Sign)]
    with torch.no_grad():
        net(torch.from_numpy(x))
    for h in hooks:
        h.remove()
    return sum(seen)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    demo.set_determinism()
    xtr, ytr, _, xte, yte, _ = demo.load_split()
    net = BnnNet()
    n_weights = sum(m.weight.numel() for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    print(f"weights: {n_weights}")

    demo.EPOCHS, demo.LR = FLOAT_EPOCHS, FLOAT_LR
    demo.train(net, xtr, ytr)
    net.eval()
    float_correct = accuracy(demo.WithSoftmax(net).eval(), xte, yte)
    print(f"float (hardtanh): {float_correct}/{len(yte)}")

    binarize(net)
    demo.EPOCHS, demo.LR = BINARY_EPOCHS, BINARY_LR
    demo.train(net, xtr, ytr)
    net.eval()
    binary_correct_ste = accuracy(demo.WithSoftmax(net).eval(), xte, yte)
    bake(net)
    model = demo.WithSoftmax(net).eval()
    binary_correct = accuracy(model, xte, yte)
    print(f"binarized: {binary_correct}/{len(yte)}")
    if binary_correct != binary_correct_ste:
        raise SystemExit("the baked network does not match the trained one")
    zeros = sign_input_zeros(net, xte)
    print(f"Sign inputs exactly 0 on the test split: {zeros}")

    torch.onnx.export(model, torch.from_numpy(xte[:1]), OUT_ONNX, opset_version=demo.OPSET,
                      input_names=["input"], output_names=["output"],
                      training=torch.onnx.TrainingMode.EVAL, do_constant_folding=True, export_params=True)
    m = onnx.load(OUT_ONNX)
    onnx.checker.check_model(m, full_check=True)
    ops = [n.op_type for n in m.graph.node]
    print("onnx ops:", " ".join(ops))
    if "Sign" not in ops or {"Clip", "HardTanh", "Relu"} & set(ops):
        raise SystemExit("the activations did not export as plain Sign nodes")

    onnx_correct = 0
    max_diff = 0.0
    with torch.no_grad():
        for i in range(len(yte)):
            ref = model(torch.from_numpy(xte[i:i + 1])).numpy()
            got = onnx_numpy_ref.run(m, {"input": xte[i:i + 1]})["output"]
            max_diff = max(max_diff, float(np.abs(ref - got).max()))
            onnx_correct += int(got.argmax() == yte[i])
    print(f"ONNX vs torch: max |diff| {max_diff:.3g}, ONNX accuracy {onnx_correct}/{len(yte)}")
    if max_diff > 1e-4 or onnx_correct != binary_correct:
        raise SystemExit("ONNX export does not match torch")

    # What the compiler will see: per output channel, the distinct values of each weight initializer; the binary
    # layers' have exactly two, {-a, +a} (BatchNormalization folded in by the exporter or not).
    producers = {o: n for n in m.graph.node for o in n.output}
    consumer = {i: n for n in m.graph.node for i in n.input}
    layers = {}
    for init in m.graph.initializer:
        w = onnx.numpy_helper.to_array(init)
        if w.ndim < 2:
            continue
        node = consumer[init.name]
        src = producers.get(node.input[0])
        while src is not None and src.op_type in ("MaxPool", "Flatten", "Reshape"):
            src = producers.get(src.input[0])
        rows = w.reshape(w.shape[0], -1)  # Conv [out, in, kh, kw]; torch's Gemm [out, in] (transB = 1)
        distinct = max(len(np.unique(r)) for r in rows)
        two_values = all(len(np.unique(r)) == 2 and np.unique(r)[0] == -np.unique(r)[1] for r in rows)
        layers[init.name] = {"node": node.name, "op": node.op_type, "shape": list(w.shape),
                             "input_from": src.op_type if src else "input",
                             "max_distinct_values_per_channel": distinct, "binary_pm_a_per_channel": two_values,
                             "abs_min": float("%.6g" % np.abs(w).min()), "abs_max": float("%.6g" % np.abs(w).max())}
        print(f"  {init.name} ({node.name}): {node.op_type} {list(w.shape)} fed by {layers[init.name]['input_from']}, "
              f"max distinct values per output channel {distinct}, exactly {{-a,+a}} per channel: {two_values}")
    binary = [k for k, v in layers.items() if v["binary_pm_a_per_channel"]]
    if len(binary) != len(BINARY_LAYERS) or any(layers[k]["input_from"] != "Sign" for k in binary):
        raise SystemExit("expected the binary layers' initializers to be {-a,+a} per channel and fed by Sign")

    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "metrics.json"), "w", newline="\n") as f:
        json.dump({
            "dataset": "the demo's held-out split (demo/digits/test_inputs.npy, 450 digits)",
            "float_test_correct": float_correct,
            "binary_test_correct": binary_correct,
            "onnx_numpy_eval_correct": onnx_correct,
            "n_test": int(len(yte)),
            "network": f"Conv3x3(1->{C1})+BN+Sign, [binary Conv3x3 ({C1}->{C2}), ({C2}->{C3})]+BN+Sign+MaxPool2, "
                       f"Flatten, binary Linear({C3 * 4}->{HIDDEN})+BN+Sign, Linear({HIDDEN}->10), Softmax",
            "weights": n_weights,
            "float_training": {"epochs": FLOAT_EPOCHS, "lr": FLOAT_LR, "activation": "hardtanh",
                               "loop": "demo/digits/train_digits.py"},
            "binary": "weights alpha_c * sign(w) per output channel (alpha_c = mean|w_c|, sign(0) = +1), identity "
                      "straight-through gradient; activations sign(x), hardtanh's gradient",
            "binary_epochs": BINARY_EPOCHS, "binary_lr": BINARY_LR,
            "sign_inputs_exactly_zero_on_test": zeros,
            "onnx_vs_torch_max_abs_diff": float("%.3g" % max_diff),
            "onnx_ops": ops,
            "onnx_bytes": os.path.getsize(OUT_ONNX),
            "onnx_sha256": sha256(OUT_ONNX),
            "initializers": layers,
            "torch_version": torch.__version__.split("+")[0],
            "onnx_version": onnx.__version__,
            "opset": demo.OPSET,
        }, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"{os.path.getsize(OUT_ONNX)} bytes, sha256 {sha256(OUT_ONNX)}")


if __name__ == "__main__":
    main()
