#!/usr/bin/python3
"""Generate the already-quantized (QDQ) test models in tests/models/qdq/.

    /usr/bin/python3 tests/models/make_qdq_import_models.py

qat_convnet.onnx
    A small conv net trained for a few steps in quantization-aware mode with torch.ao.quantization fake-quant
    (int8 activations, per-channel symmetric int8 weights), exported by torch 1.13 to ONNX opset 13 as it comes:
    QuantizeLinear/DequantizeLinear pairs on activations, float weights behind QuantizeLinear(axis=0) ->
    DequantizeLinear, float biases.

ort_static_uint8.onnx
    The graph ONNX Runtime's quantize_static wrote by default in older versions (QDQ format): uint8 activations with
    asymmetric zero points (the input's is 128), int32 biases with scale s_in * s_w behind DequantizeLinear,
    per-channel int8 weights on the first Conv and uint8 weights with zero point 128 on the second (old
    weight_type=QUInt8, symmetric). Built with the onnx helper API because onnxruntime (python) is not installed;
    activation ranges come from running the float net in torch on the calibration inputs, and the parameters are
    chosen the way quantize_static chooses them (range widened to include 0, scale = (max - min) / 255,
    zero point = round(-min / scale)).

ort_static_uint8_asymmetric_weights.onnx
    The same with one weight zero point that is not 128: asymmetric weights, which the int8 kernels cannot run
    (the compiler must refuse it with a coded error).

qdq_inputs.npy holds 4 float inputs [4, 1, 8, 8] used by the tests. Deterministic (fixed seeds, one thread).
"""
from __future__ import annotations

import os

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "qdq")
torch.manual_seed(0)
torch.set_num_threads(1)
np.random.seed(0)


class ConvNet(nn.Module):
    """conv 1->4 (3x3, pad 1) + relu, conv 4->8 (3x3, stride 2) + relu, flatten, linear 8*3*3 -> 5."""

    def __init__(self, quantized: bool):
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub() if quantized else nn.Identity()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 8, 3, stride=2)
        self.relu2 = nn.ReLU()
        self.fc = nn.Linear(8 * 3 * 3, 5)
        self.dequant = torch.ao.quantization.DeQuantStub() if quantized else nn.Identity()

    def forward(self, x):
        x = self.quant(x)
        x = self.relu1(self.conv1(x))
        x = self.relu2(self.conv2(x))
        x = torch.flatten(x, 1)
        return self.dequant(self.fc(x))


def qat_model(inputs: torch.Tensor) -> None:
    from torch.ao.quantization import FakeQuantize, MovingAverageMinMaxObserver, QConfig, default_per_channel_weight_fake_quant

    model = ConvNet(quantized=True)
    model.train()
    # int8 activations (-128..127, asymmetric): the TFLite scheme; the default fbgemm qconfig would use uint8 0..127.
    activation = FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127,
                                        dtype=torch.qint8, qscheme=torch.per_tensor_affine)
    model.qconfig = QConfig(activation=activation, weight=default_per_channel_weight_fake_quant)
    torch.ao.quantization.fuse_modules_qat(model, [["conv1", "relu1"], ["conv2", "relu2"]], inplace=True)
    torch.ao.quantization.prepare_qat(model, inplace=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    target = torch.randn(inputs.shape[0], 5)
    for _ in range(20):
        optimizer.zero_grad()
        loss = ((model(inputs) - target) ** 2).mean()
        loss.backward()
        optimizer.step()

    model.apply(torch.ao.quantization.disable_observer)
    model.eval()
    path = os.path.join(OUT, "qat_convnet.onnx")
    torch.onnx.export(model, inputs[:1], path, opset_version=13, input_names=["input"], output_names=["output"],
                      do_constant_folding=True)
    # Stable names/order only: strip the producer version so the file does not change with the torch patch level.
    m = onnx.load(path)
    m.producer_version = ""
    onnx.save(m, path)


def choose_uint8(values: np.ndarray) -> tuple[np.float32, int]:
    lo = min(float(values.min()), 0.0)
    hi = max(float(values.max()), 0.0)
    scale = np.float32((hi - lo) / 255.0)
    zero_point = int(np.clip(round(-lo / float(scale)), 0, 255))
    return scale, zero_point


def ort_static_model(inputs: torch.Tensor, second_weight_zero_point: int, name: str) -> None:
    net = ConvNet(quantized=False).eval()
    ranges = {}

    def hook(key):
        def record(_module, _inp, out):
            ranges[key] = out.detach().numpy()
        return record

    net.relu1.register_forward_hook(hook("relu1"))
    net.relu2.register_forward_hook(hook("relu2"))
    net.fc.register_forward_hook(hook("fc"))
    with torch.no_grad():
        net(inputs)

    initializers = []
    nodes = []

    def constant(name_, array):
        initializers.append(numpy_helper.from_array(array, name_))
        return name_

    def qdq(value, scale, zero_point):
        s = constant(value + "_scale", np.array(scale, dtype=np.float32))
        z = constant(value + "_zero_point", np.array(zero_point, dtype=np.uint8))
        nodes.append(helper.make_node("QuantizeLinear", [value, s, z], [value + "_QuantizeLinear_Output"], name=value + "_QuantizeLinear"))
        nodes.append(helper.make_node("DequantizeLinear", [value + "_QuantizeLinear_Output", s, z], [value + "_DequantizeLinear_Output"], name=value + "_DequantizeLinear"))
        return value + "_DequantizeLinear_Output"

    def weights(prefix, w, uint8_zero_point):
        channels = w.shape[0]
        max_abs = np.abs(w.reshape(channels, -1)).max(axis=1)
        scales = (max_abs / 127.0).astype(np.float32)
        q = np.clip(np.round(w / scales.reshape(-1, *([1] * (w.ndim - 1)))), -127, 127)
        if uint8_zero_point is None:
            payload, zero_points = q.astype(np.int8), np.zeros(channels, dtype=np.int8)
        else:
            payload, zero_points = (q + uint8_zero_point).astype(np.uint8), np.full(channels, uint8_zero_point, dtype=np.uint8)
        constant(prefix + "_quantized", payload)
        constant(prefix + "_scale", scales)
        constant(prefix + "_zero_point", zero_points)
        nodes.append(helper.make_node("DequantizeLinear", [prefix + "_quantized", prefix + "_scale", prefix + "_zero_point"],
                                      [prefix + "_DequantizeLinear_Output"], name=prefix + "_DequantizeLinear", axis=0))
        return prefix + "_DequantizeLinear_Output", scales

    def bias(prefix, b, input_scale, weight_scales):
        scales = (np.float32(input_scale) * weight_scales).astype(np.float32)
        q = np.round(b / scales).astype(np.int32)
        constant(prefix + "_quantized", q)
        constant(prefix + "_scale", scales)
        constant(prefix + "_zero_point", np.zeros_like(q))
        nodes.append(helper.make_node("DequantizeLinear", [prefix + "_quantized", prefix + "_scale", prefix + "_zero_point"],
                                      [prefix + "_DequantizeLinear_Output"], name=prefix + "_DequantizeLinear", axis=0))
        return prefix + "_DequantizeLinear_Output"

    # The input: a fixed range [-1, 1) as a user would configure it, zero point 128.
    in_scale, in_zp = np.float32(2.0 / 255.0), 128
    x = qdq("input", in_scale, in_zp)
    w1, w1_scales = weights("conv1.weight", net.conv1.weight.detach().numpy(), None)
    b1 = bias("conv1.bias", net.conv1.bias.detach().numpy(), in_scale, w1_scales)
    nodes.append(helper.make_node("Conv", [x, w1, b1], ["conv1_output"], name="conv1", pads=[1, 1, 1, 1], kernel_shape=[3, 3]))
    nodes.append(helper.make_node("Relu", ["conv1_output"], ["relu1_output"], name="relu1"))
    s1, z1 = choose_uint8(ranges["relu1"])
    h1 = qdq("relu1_output", s1, z1)

    w2, w2_scales = weights("conv2.weight", net.conv2.weight.detach().numpy(), second_weight_zero_point)
    if second_weight_zero_point != 128:
        initializers[-1] = numpy_helper.from_array(np.full(8, second_weight_zero_point, dtype=np.uint8), "conv2.weight_zero_point")
    b2 = bias("conv2.bias", net.conv2.bias.detach().numpy(), s1, w2_scales)
    nodes.append(helper.make_node("Conv", [h1, w2, b2], ["conv2_output"], name="conv2", strides=[2, 2], kernel_shape=[3, 3]))
    nodes.append(helper.make_node("Relu", ["conv2_output"], ["relu2_output"], name="relu2"))
    s2, z2 = choose_uint8(ranges["relu2"])
    h2 = qdq("relu2_output", s2, z2)
    nodes.append(helper.make_node("Flatten", [h2], ["flatten_output"], name="flatten", axis=1))
    h3 = qdq("flatten_output", s2, z2)

    w3, w3_scales = weights("fc.weight", net.fc.weight.detach().numpy(), None)
    b3 = bias("fc.bias", net.fc.bias.detach().numpy(), s2, w3_scales)
    nodes.append(helper.make_node("Gemm", [h3, w3, b3], ["fc_output"], name="fc", transB=1))
    s3, z3 = choose_uint8(ranges["fc"])
    s = constant("fc_output_scale", np.array(s3, dtype=np.float32))
    z = constant("fc_output_zero_point", np.array(z3, dtype=np.uint8))
    nodes.append(helper.make_node("QuantizeLinear", ["fc_output", s, z], ["fc_output_QuantizeLinear_Output"], name="fc_output_QuantizeLinear"))
    nodes.append(helper.make_node("DequantizeLinear", ["fc_output_QuantizeLinear_Output", s, z], ["output"], name="output_DequantizeLinear"))

    graph = helper.make_graph(nodes, "ort_static", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 5])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="onnx.helper (quantize_static style)")
    model.ir_version = 7
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(OUT, name))


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    inputs = torch.rand(16, 1, 8, 8) * 2 - 1
    np.save(os.path.join(OUT, "qdq_inputs.npy"), inputs[:4].numpy().astype(np.float32))
    qat_model(inputs)
    torch.manual_seed(1)
    ort_static_model(inputs, 128, "ort_static_uint8.onnx")
    torch.manual_seed(1)
    ort_static_model(inputs, 120, "ort_static_uint8_asymmetric_weights.onnx")
    for file in sorted(os.listdir(OUT)):
        if file.endswith(".onnx"):
            m = onnx.load(os.path.join(OUT, file))
            onnx.checker.check_model(m)
            print(file, os.path.getsize(os.path.join(OUT, file)), "bytes:", " ".join(n.op_type for n in m.graph.node))


if __name__ == "__main__":
    main()
