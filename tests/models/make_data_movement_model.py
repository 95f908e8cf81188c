#!/usr/bin/python3
"""Generate tests/models/data_movement.onnx (opset 13): every data-movement / reduction op with an int8 lowering on
activations, behind a Conv so the scales differ. No reference outputs: SmallModelTests compares the int8 pipeline with
ONNX Runtime and the host C with the C# reference byte for byte.

    /usr/bin/python3 tests/models/make_data_movement_model.py
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
F = TensorProto.FLOAT


def ints(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def main():
    r = np.random.RandomState(321)
    w = np.asarray(r.randn(4, 3, 3, 3) * 0.4, dtype=np.float32)
    b = np.asarray(r.randn(4) * 0.1, dtype=np.float32)
    nodes = [
        helper.make_node("Conv", ["input", "w", "b"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        # Concat of the conv output and the raw input: two different scales requantized to the output's.
        helper.make_node("Concat", ["r", "input"], ["cat"], name="concat", axis=1),
        helper.make_node("Pad", ["cat", "pads"], ["padded"], name="pad", mode="reflect"),
        helper.make_node("Slice", ["padded", "starts", "ends", "axes", "steps"], ["sliced"], name="slice"),
        helper.make_node("Transpose", ["sliced"], ["t"], name="transpose", perm=[0, 1, 3, 2]),
        helper.make_node("Split", ["t", "split"], ["s0", "s1"], name="split", axis=1),
        helper.make_node("Resize", ["s0", "", "scales"], ["up"], name="resize_nearest", mode="nearest"),
        helper.make_node("Resize", ["up", "", "scales2"], ["lin"], name="resize_linear", mode="linear"),
        helper.make_node("ReduceMean", ["lin"], ["m"], name="mean", axes=[2, 3], keepdims=0),
        helper.make_node("Unsqueeze", ["m", "uaxes"], ["u"], name="unsqueeze"),
        helper.make_node("Squeeze", ["u", "uaxes"], ["output"], name="squeeze"),
    ]
    inits = [
        numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b"),
        ints("pads", [0, 0, 1, 2, 0, 0, 2, 1]),
        ints("starts", [0, 1, 7]), ints("ends", [7, 9, 0]), ints("axes", [1, 2, 3]), ints("steps", [1, 1, -2]),
        ints("split", [3, 4]), ints("uaxes", [2]),
        numpy_helper.from_array(np.asarray([1, 1, 2, 2], dtype=np.float32), "scales"),
        numpy_helper.from_array(np.asarray([1, 1, 0.75, 1.5], dtype=np.float32), "scales2"),
    ]
    g = helper.make_graph(nodes, "data_movement", [helper.make_tensor_value_info("input", F, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("output", F, [1, 3])], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="TinyML.Sdk tests/models/make_data_movement_model.py")
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, os.path.join(HERE, "data_movement.onnx"))
    data = os.path.join(HERE, "data", "data_movement")
    os.makedirs(data, exist_ok=True)
    rng = np.random.RandomState(77)
    for k in range(3):
        np.save(os.path.join(data, f"input_{k}.npy"), np.asarray(rng.randn(1, 3, 8, 8), dtype=np.float32))


if __name__ == "__main__":
    main()
