#!/usr/bin/python3
"""Generate the small ONNX test models in tests/models/ (opset 13) with the onnx helper API.

    /usr/bin/python3 tests/models/make_test_models.py

Deterministic (fixed numpy seeds; running twice gives byte-identical files).
For every model the float reference outputs of a few random inputs are written to
tests/models/data/<model>/input_K.npy / output_K.npy. onnx 1.12 (Debian's python3-onnx)
has no onnx.reference.ReferenceEvaluator, so outputs come from the small numpy evaluator in
tools/python/onnx_numpy_ref.py, and each one is cross-checked here against an independent
torch.nn.functional computation of the same graph (max abs diff must be < 1e-5).
unsupported_op.onnx (TopK) gets no outputs: it exists to test the compiler's rejection path.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "python"))
import onnx_numpy_ref  # noqa: E402

OPSET = 13
N_INPUTS = 3
F = TensorProto.FLOAT


def init(name, arr):
    return numpy_helper.from_array(np.ascontiguousarray(arr, dtype=arr.dtype), name)


def f32(a):
    return np.asarray(a, dtype=np.float32)


def make(name, nodes, inputs, outputs, inits):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)],
                          producer_name="TinyML.Sdk tests/models/make_test_models.py")
    onnx.checker.check_model(m, full_check=True)
    return m


# ---------------------------------------------------------------- models
def conv_bn_relu():
    r = np.random.RandomState(101)
    w = f32(r.randn(4, 3, 3, 3) * 0.3)
    b = f32(r.randn(4) * 0.1)
    scale = f32(r.uniform(0.5, 1.5, 4))
    bias = f32(r.randn(4) * 0.2)
    mean = f32(r.randn(4) * 0.3)
    var = f32(r.uniform(0.5, 2.0, 4))
    nodes = [
        helper.make_node("Conv", ["input", "conv.w", "conv.b"], ["c"], name="conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("BatchNormalization", ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["n"],
                         name="bn", epsilon=1e-5),
        helper.make_node("Relu", ["n"], ["output"], name="relu"),
    ]
    m = make("conv_bn_relu", nodes, [helper.make_tensor_value_info("input", F, [1, 3, 8, 8])],
             [helper.make_tensor_value_info("output", F, [1, 4, 8, 8])],
             [init("conv.w", w), init("conv.b", b), init("bn.scale", scale), init("bn.bias", bias),
              init("bn.mean", mean), init("bn.var", var)])

    def torch_ref(x):
        import torch.nn.functional as Fn
        y = Fn.conv2d(x, T(w), T(b), padding=1)
        y = Fn.batch_norm(y, T(mean), T(var), T(scale), T(bias), training=False, eps=1e-5)
        return Fn.relu(y)
    return m, [[1, 3, 8, 8]] * N_INPUTS, torch_ref


def mlp_gemm():
    r = np.random.RandomState(102)
    w1, b1 = f32(r.randn(12, 16) * 0.3), f32(r.randn(12) * 0.1)   # transB=1: [out, in]
    w2, b2 = f32(r.randn(12, 4) * 0.4), f32(r.randn(4) * 0.1)     # transB=0: [in, out]
    nodes = [
        helper.make_node("Gemm", ["input", "fc1.w", "fc1.b"], ["g1"], name="fc1", transB=1),
        helper.make_node("Relu", ["g1"], ["h"], name="relu"),
        helper.make_node("Gemm", ["h", "fc2.w", "fc2.b"], ["g2"], name="fc2"),
        helper.make_node("Softmax", ["g2"], ["output"], name="softmax", axis=1),
    ]
    m = make("mlp_gemm", nodes, [helper.make_tensor_value_info("input", F, [1, 16])],
             [helper.make_tensor_value_info("output", F, [1, 4])],
             [init("fc1.w", w1), init("fc1.b", b1), init("fc2.w", w2), init("fc2.b", b2)])

    def torch_ref(x):
        import torch.nn.functional as Fn
        h = Fn.relu(Fn.linear(x, T(w1), T(b1)))
        return Fn.softmax(h @ T(w2) + T(b2), dim=1)
    return m, [[1, 16]] * N_INPUTS, torch_ref


def matmul_add():
    r = np.random.RandomState(103)
    w, b = f32(r.randn(8, 5) * 0.4), f32(r.randn(5) * 0.1)
    nodes = [
        helper.make_node("MatMul", ["input", "W"], ["mm"], name="matmul"),
        helper.make_node("Add", ["mm", "bias"], ["a"], name="add"),
        helper.make_node("Relu", ["a"], ["output"], name="relu"),
    ]
    m = make("matmul_add", nodes, [helper.make_tensor_value_info("input", F, [1, 8])],
             [helper.make_tensor_value_info("output", F, [1, 5])], [init("W", w), init("bias", b)])

    def torch_ref(x):
        import torch
        return torch.relu(x @ T(w) + T(b))
    return m, [[1, 8]] * N_INPUTS, torch_ref


def unsupported_op():
    nodes = [
        helper.make_node("Relu", ["input"], ["r"], name="relu"),
        helper.make_node("TopK", ["r", "k"], ["output", "indices"], name="my_unsupported_node", axis=1),
    ]
    m = make("unsupported_op", nodes, [helper.make_tensor_value_info("input", F, [1, 10])],
             [helper.make_tensor_value_info("output", F, [1, 3]),
              helper.make_tensor_value_info("indices", TensorProto.INT64, [1, 3])],
             [init("k", np.array([3], dtype=np.int64))])
    return m, None, None


def dynamic_dims():
    nodes = [helper.make_node("Relu", ["input"], ["output"], name="relu")]
    m = make("dynamic_dims", nodes, [helper.make_tensor_value_info("input", F, ["N", 3, "height", 8])],
             [helper.make_tensor_value_info("output", F, ["N", 3, "height", 8])], [])

    def torch_ref(x):
        import torch
        return torch.relu(x)
    # concrete shapes for the dynamic dims differ per sample
    return m, [[1, 3, 4, 8], [2, 3, 5, 8], [1, 3, 8, 8]], torch_ref


def residual_add():
    r = np.random.RandomState(106)
    w, b = f32(r.randn(4, 4, 3, 3) * 0.25), f32(r.randn(4) * 0.1)
    fw, fb = f32(r.randn(3, 4) * 0.5), f32(r.randn(3) * 0.1)
    nodes = [
        helper.make_node("Conv", ["input", "conv.w", "conv.b"], ["c"], name="conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Add", ["r", "input"], ["s"], name="residual_add"),
        helper.make_node("MaxPool", ["s"], ["mp"], name="maxpool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("AveragePool", ["mp"], ["ap"], name="avgpool", kernel_shape=[3, 3], strides=[1, 1]),
        helper.make_node("Flatten", ["ap"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["output"], name="fc", transB=1),
    ]
    m = make("residual_add", nodes, [helper.make_tensor_value_info("input", F, [1, 4, 6, 6])],
             [helper.make_tensor_value_info("output", F, [1, 3])],
             [init("conv.w", w), init("conv.b", b), init("fc.w", fw), init("fc.b", fb)])

    def torch_ref(x):
        import torch
        import torch.nn.functional as Fn
        s = Fn.relu(Fn.conv2d(x, T(w), T(b), padding=1)) + x
        y = Fn.avg_pool2d(Fn.max_pool2d(s, 2, 2), 3, 1)
        return Fn.linear(torch.flatten(y, 1), T(fw), T(fb))
    return m, [[1, 4, 6, 6]] * N_INPUTS, torch_ref


def T(a):
    import torch
    return torch.from_numpy(np.ascontiguousarray(a))


MODELS = [conv_bn_relu, mlp_gemm, matmul_add, unsupported_op, dynamic_dims, residual_add]


def main():
    data_root = os.path.join(HERE, "data")
    for idx, fn in enumerate(MODELS):
        name = fn.__name__
        m, shapes, torch_ref = fn()
        path = os.path.join(HERE, name + ".onnx")
        onnx.save(m, path)
        onnx.checker.check_model(onnx.load(path), full_check=True)
        size = os.path.getsize(path)
        assert size < 20 * 1024, (name, size)
        msg = f"{name}.onnx: {size} bytes, ops {[n.op_type for n in m.graph.node]}"
        if shapes is None:
            print(msg + " (no reference outputs)")
            continue
        ddir = os.path.join(data_root, name)
        os.makedirs(ddir, exist_ok=True)
        rng = np.random.RandomState(1000 + idx)
        worst = 0.0
        for k, shp in enumerate(shapes):
            x = f32(rng.randn(*shp))
            y = onnx_numpy_ref.run(m, {"input": x})["output"]
            import torch
            with torch.no_grad():
                yt = torch_ref(T(x)).numpy()
            diff = float(np.abs(y - yt).max())
            worst = max(worst, diff)
            if diff > 1e-5:
                raise SystemExit(f"{name}: numpy reference and torch disagree (max |diff| {diff})")
            np.save(os.path.join(ddir, f"input_{k}.npy"), x)
            np.save(os.path.join(ddir, f"output_{k}.npy"), np.ascontiguousarray(y, dtype=np.float32))
        print(msg + f", {len(shapes)} reference in/out pairs (numpy vs torch max |diff| {worst:.2g})")


if __name__ == "__main__":
    main()
