#!/usr/bin/python3
"""The PyTorch export corpus of tests/TinyML.Tests/Torch/TorchCorpusTests.cs (issue 18).

Standard torch.onnx.export outputs (eval mode, opset 13; MobileNetV3-small also 14) of networks people put on
microcontrollers, with seeded random weights (no downloads) and BatchNorm statistics set to non-trivial seeded values
so that folding is exercised. Narrow widths, 10 classes and small inputs keep each file well under 2 MB.

Needs Debian's python3-torch (1.13) and python3-torchvision (0.14): `sudo apt-get install python3-torch
python3-torchvision`, then run this with the system interpreter: `/usr/bin/python3 scripts/make_torch_corpus.py`.
The .onnx files it writes are committed; the tests need no torch.
"""
import os
import sys

import torch
import torchvision

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "TinyML.Tests", "Torch", "corpus")


def seeded_batchnorm(model, seed):
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            n = module.num_features
            module.running_mean.copy_((torch.rand(n, generator=generator) - 0.5) * 0.4)
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            module.bias.data.copy_((torch.rand(n, generator=generator) - 0.5) * 0.2)
    return model


class SensorGru(torch.nn.Module):
    """A Conv1d front end and a GRU over time, the shape of an IMU/vibration classifier: [1, 6, 64] -> [1, 5]."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(6, 16, kernel_size=5, stride=2, padding=2)
        self.bn = torch.nn.BatchNorm1d(16)
        self.gru = torch.nn.GRU(16, 24, batch_first=True)
        self.head = torch.nn.Linear(24, 5)

    def forward(self, x):
        h = torch.relu(self.bn(self.conv(x)))          # [1, 16, 32]
        y, _ = self.gru(h.transpose(1, 2))              # [1, 32, 24]
        return self.head(y[:, -1, :])


class TinyEncoder(torch.nn.Module):
    """Two transformer encoder blocks (2 heads, GELU MLP, pre-norm residuals) on [1, 16, 32], mean-pooled to 4 classes."""

    def __init__(self):
        super().__init__()
        layer = torch.nn.TransformerEncoderLayer(d_model=32, nhead=2, dim_feedforward=64, dropout=0.0,
                                                 activation="gelu", batch_first=True, norm_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = torch.nn.Linear(32, 4)

    def forward(self, x):
        return self.head(self.encoder(x).mean(dim=1))


class HalfSqueezeNet(torch.nn.Module):
    """SqueezeNet 1.1's topology (torchvision's Fire modules, max pools, conv classifier, global average pool) at half
    its width, so the file stays under 2 MB: [1, 3, 64, 64] -> [1, 10]."""

    def __init__(self, num_classes=10):
        super().__init__()
        from torchvision.models.squeezenet import Fire
        pool = lambda: torch.nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 32, kernel_size=3, stride=2), torch.nn.ReLU(inplace=True), pool(),
            Fire(32, 8, 32, 32), Fire(64, 8, 32, 32), pool(),
            Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
            Fire(128, 24, 96, 96), Fire(192, 24, 96, 96), Fire(192, 32, 128, 128), Fire(256, 32, 128, 128))
        self.classifier = torch.nn.Sequential(
            torch.nn.Dropout(p=0.5), torch.nn.Conv2d(256, num_classes, kernel_size=1), torch.nn.ReLU(inplace=True),
            torch.nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


def models():
    tv = torchvision.models
    yield "mobilenet_v2_035", lambda: tv.mobilenet_v2(weights=None, width_mult=0.35, num_classes=10), (1, 3, 64, 64), [13]
    yield "mobilenet_v3_small", lambda: tv.mobilenet_v3_small(weights=None, width_mult=0.5, reduced_tail=True, num_classes=10), (1, 3, 64, 64), [13, 14]
    yield "squeezenet1_1_half", HalfSqueezeNet, (1, 3, 64, 64), [13]
    yield "shufflenet_v2_x0_5", lambda: tv.shufflenet_v2_x0_5(weights=None, num_classes=10), (1, 3, 64, 64), [13]
    yield "sensor_conv1d_gru", SensorGru, (1, 6, 64), [13]
    yield "transformer_encoder_2x", TinyEncoder, (1, 16, 32), [13]


def main():
    os.makedirs(OUT, exist_ok=True)
    for index, (name, make, shape, opsets) in enumerate(models()):
        torch.manual_seed(1000 + index)
        model = seeded_batchnorm(make().eval(), 2000 + index)
        example = torch.randn(*shape, generator=torch.Generator().manual_seed(3000 + index))
        for opset in opsets:
            path = os.path.join(OUT, f"{name}_opset{opset}.onnx")
            # Not under torch.no_grad(): there the encoder layer takes its fused fast path, which has no ONNX export.
            torch.onnx.export(model, example, path, opset_version=opset, input_names=["input"],
                              output_names=["output"], do_constant_folding=True)
            print(f"{path}: {os.path.getsize(path):,} B", file=sys.stderr)


if __name__ == "__main__":
    main()
