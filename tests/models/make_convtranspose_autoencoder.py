#!/usr/bin/python3
"""Generate conv_autoencoder.onnx: a tiny Conv -> ConvTranspose autoencoder exported by PyTorch (torch 1.13).

    /usr/bin/python3 tests/models/make_convtranspose_autoencoder.py

input[1,1,16,16] -> Conv(1->8, 3x3, stride 2, pad 1) -> Relu -> Conv(8->16, 3x3, stride 2, pad 1) -> Relu
-> ConvTranspose(16->8, 3x3, stride 2, pad 1, output_padding 1) -> Relu
-> ConvTranspose(8->8, 4x4, stride 2, pad 1, group 8: depthwise) -> Relu
-> ConvTranspose(8->1, 3x3, stride 1, pad 1, dilation 1) -> output[1,1,16,16].
The weights are PyTorch's default initialization after a short fit (fixed seed) to reconstruct smooth blobs, so the
activations have realistic ranges for int8 calibration. Opset 13. Deterministic (fixed seeds).
"""
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


class AutoEncoder(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encode = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 16, 3, stride=2, padding=1), torch.nn.ReLU())
        self.decode = torch.nn.Sequential(
            torch.nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1), torch.nn.ReLU(),
            torch.nn.ConvTranspose2d(8, 8, 4, stride=2, padding=1, groups=8), torch.nn.ReLU(),
            torch.nn.ConvTranspose2d(8, 1, 3, stride=1, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def blobs(count: int, generator: torch.Generator) -> torch.Tensor:
    """Gaussian blobs at random positions and widths: images the autoencoder can learn to reproduce."""
    axis = torch.arange(16, dtype=torch.float32)
    cy, cx = (torch.rand(count, 1, 1, generator=generator) * 16 for _ in range(2))
    width = 1.5 + torch.rand(count, 1, 1, generator=generator) * 3
    y, x = axis.view(1, 16, 1), axis.view(1, 1, 16)
    return torch.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * width ** 2)).unsqueeze(1)


def main() -> None:
    torch.manual_seed(7)
    generator = torch.Generator().manual_seed(7)
    model = AutoEncoder()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(200):
        batch = blobs(32, generator)
        loss = torch.nn.functional.mse_loss(model(batch), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"reconstruction MSE {loss.item():.4f}")
    model.eval()
    path = os.path.join(HERE, "conv_autoencoder.onnx")
    torch.onnx.export(model, blobs(1, generator), path, input_names=["input"], output_names=["output"], opset_version=13)
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
