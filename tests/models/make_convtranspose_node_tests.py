"""Writes the ONNX backend node tests for ConvTranspose (test_convtranspose*) into onnx-node-convtranspose/.

The shared onnx-node-tests copy leaves ConvTranspose out, so these are generated from the test-case definitions
the installed onnx package ships (onnx/backend/test/case/node/convtranspose.py: hand-written inputs and expected
outputs), in the same layout as onnx/backend/test/data/node: <name>/model.onnx and test_data_set_0/{input,output}_N.pb.
Run with /usr/bin/python3 (onnx 1.12); OnnxNodeConformanceTests picks the folder up.
"""
import os
import shutil

import onnx
from onnx import numpy_helper
import onnx.backend.test.case.node as node_cases

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx-node-convtranspose")


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    # Importing the module runs its export() methods, which register the cases (collect_testcases would import every
    # op's module, and some of those no longer run with current numpy).
    import onnx.backend.test.case.node.convtranspose  # noqa: F401
    for case in node_cases._NodeTestCases:
        if not case.name.startswith("test_convtranspose"):
            continue
        folder = os.path.join(OUT, case.name)
        data = os.path.join(folder, "test_data_set_0")
        os.makedirs(data)
        onnx.save(case.model, os.path.join(folder, "model.onnx"))
        inputs, outputs = case.data_sets[0]
        graph_inputs = [i.name for i in case.model.graph.input]
        graph_outputs = [o.name for o in case.model.graph.output]
        for i, value in enumerate(inputs):
            with open(os.path.join(data, f"input_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(value, graph_inputs[i]).SerializeToString())
        for i, value in enumerate(outputs):
            with open(os.path.join(data, f"output_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(value, graph_outputs[i]).SerializeToString())
        print(case.name, [o.version for o in case.model.opset_import])

    # Grouped / depthwise / dilated / strided cases the ONNX node tests of this onnx version lack, with expected
    # outputs from PyTorch's conv_transpose (an independent implementation).
    torch_cases(OUT)


def torch_cases(out: str) -> None:
    import numpy as np
    import torch
    from onnx import helper, TensorProto

    rng = np.random.default_rng(2026)
    #       name                     in_c out_c group kernel    stride  pad        out_pad dilation
    cases = [("group_2",                2,   2,   2, (3, 3), (1, 1), (0, 0), (0, 0), (1, 1)),
             ("depthwise_strided",      4,   4,   4, (3, 3), (2, 2), (1, 1), (1, 1), (1, 1)),
             ("depthwise_multiplier",   3,   6,   3, (2, 3), (2, 1), (0, 1), (1, 0), (1, 2)),
             ("group_3_dilated_padded", 6,   9,   3, (3, 2), (3, 2), (2, 1), (2, 1), (2, 2)),
             ("dense_1d",               3,   5,   1, (1, 4), (1, 3), (0, 2), (0, 1), (1, 2))]
    for name, in_c, out_c, group, kernel, stride, pad, out_pad, dilation in cases:
        one_d = name.endswith("_1d")
        x = rng.standard_normal((1, in_c, 1 if one_d else 4, 5)).astype(np.float32)
        w = rng.standard_normal((in_c, out_c // group) + kernel).astype(np.float32)
        b = rng.standard_normal(out_c).astype(np.float32)
        y = torch.nn.functional.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride,
                                                 pad, out_pad, group, dilation).numpy()
        axes = slice(1, 2) if one_d else slice(0, 2)
        if one_d:
            x, w, y = x[:, :, 0, :], w[:, :, 0, :], y[:, :, 0, :]
        node = helper.make_node("ConvTranspose", ["X", "W", "B"], ["Y"], group=group, strides=list(stride[axes]),
                                pads=list(pad[axes]) * 2, output_padding=list(out_pad[axes]), dilations=list(dilation[axes]))
        graph = helper.make_graph([node], name, [helper.make_tensor_value_info(n, TensorProto.FLOAT, v.shape) for n, v in (("X", x), ("W", w), ("B", b))],
                                  [helper.make_tensor_value_info("Y", TensorProto.FLOAT, y.shape)])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
        onnx.checker.check_model(model)
        folder = os.path.join(out, "test_convtranspose_torch_" + name)
        data = os.path.join(folder, "test_data_set_0")
        os.makedirs(data)
        onnx.save(model, os.path.join(folder, "model.onnx"))
        for i, (n, v) in enumerate((("X", x), ("W", w), ("B", b))):
            with open(os.path.join(data, f"input_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(v, n).SerializeToString())
        with open(os.path.join(data, "output_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(y, "Y").SerializeToString())
        print(folder, y.shape)


if __name__ == "__main__":
    main()
