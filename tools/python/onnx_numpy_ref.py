"""Tiny numpy evaluator for the handful of ONNX ops used by the project's demo/test models.

Why this exists: the Debian Python used by the model scripts ships onnx 1.12, which has no
`onnx.reference.ReferenceEvaluator` (added in onnx 1.13), and onnxruntime is not available.
This module is a deliberately small, float64-accumulating implementation of the ONNX
semantics (opset 13) for: Conv, BatchNormalization, Relu, Sign, MaxPool, AveragePool,
GlobalAveragePool, Flatten, Reshape, Gemm, MatMul, Add, Softmax, Identity, Constant.
It is used (a) to cross-check torch.onnx.export output against torch, and (b) to produce
expected float outputs for tests/models/*.onnx. Unsupported ops raise NotImplementedError.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _pad_nchw(x, pads, value):
    # pads = [top, left, bottom, right] for 2-D spatial
    t, l, b, r = pads
    return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=value)


def _windows(x, kh, kw, sh, sw, dh=1, dw=1):
    """x: [N,C,H,W] -> [N,C,OH,OW,kh,kw] view of sliding windows."""
    n, c, h, w = x.shape
    eff_kh = (kh - 1) * dh + 1
    eff_kw = (kw - 1) * dw + 1
    oh = (h - eff_kh) // sh + 1
    ow = (w - eff_kw) // sw + 1
    out = np.empty((n, c, oh, ow, kh, kw), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            out[..., i, j] = x[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw]
    return out


def _conv(x, w, b, a):
    group = a.get("group", 1)
    kh, kw = w.shape[2], w.shape[3]
    strides = a.get("strides", [1, 1])
    dil = a.get("dilations", [1, 1])
    pads = a.get("pads", [0, 0, 0, 0])
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("auto_pad")
    xp = _pad_nchw(x.astype(np.float64), [pads[0], pads[1], pads[2], pads[3]], 0.0)
    win = _windows(xp, kh, kw, strides[0], strides[1], dil[0], dil[1])  # N,C,OH,OW,kh,kw
    n, c, oh, ow = win.shape[:4]
    m = w.shape[0]
    cg = c // group
    mg = m // group
    y = np.zeros((n, m, oh, ow), dtype=np.float64)
    w64 = w.astype(np.float64)
    for g in range(group):
        wg = w64[g * mg:(g + 1) * mg]  # mg,cg,kh,kw
        xg = win[:, g * cg:(g + 1) * cg]  # N,cg,OH,OW,kh,kw
        y[:, g * mg:(g + 1) * mg] = np.einsum("nchwij,mcij->nmhw", xg, wg)
    if b is not None:
        y += b.astype(np.float64)[None, :, None, None]
    return y


def _pool(x, a, kind):
    kh, kw = a["kernel_shape"]
    strides = a.get("strides", [1, 1])
    pads = a.get("pads", [0, 0, 0, 0])
    if a.get("ceil_mode", 0):
        raise NotImplementedError("ceil_mode")
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("auto_pad")
    x = x.astype(np.float64)
    if kind == "max":
        xp = _pad_nchw(x, pads, -np.inf)
        return _windows(xp, kh, kw, strides[0], strides[1]).max(axis=(-2, -1))
    xp = _pad_nchw(x, pads, 0.0)
    s = _windows(xp, kh, kw, strides[0], strides[1]).sum(axis=(-2, -1))
    if a.get("count_include_pad", 0):
        return s / (kh * kw)
    ones = _pad_nchw(np.ones_like(x[:1, :1]), pads, 0.0)
    cnt = _windows(ones, kh, kw, strides[0], strides[1]).sum(axis=(-2, -1))
    return s / cnt


def run(model: onnx.ModelProto, feeds: dict) -> dict:
    """Evaluate `model` on `feeds` (name -> np.ndarray). Returns all graph outputs (float32)."""
    env = {}
    for init in model.graph.initializer:
        env[init.name] = numpy_helper.to_array(init)
    for k, v in feeds.items():
        env[k] = np.asarray(v)
    for node in model.graph.node:
        a = _attrs(node)
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            y = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)
        elif op == "BatchNormalization":
            x, sc, bi, mean, var = [t.astype(np.float64) for t in ins[:5]]
            eps = a.get("epsilon", 1e-5)
            sh = (1, -1) + (1,) * (x.ndim - 2)
            y = (x - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + eps) * sc.reshape(sh) + bi.reshape(sh)
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "Sign":
            y = np.sign(ins[0])  # -1, 0 or +1, as ONNX (and torch.sign): sign(0) = 0
        elif op == "MaxPool":
            y = _pool(ins[0], a, "max")
        elif op == "AveragePool":
            y = _pool(ins[0], a, "avg")
        elif op == "GlobalAveragePool":
            y = ins[0].astype(np.float64).mean(axis=tuple(range(2, ins[0].ndim)), keepdims=True)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            x = ins[0]
            y = x.reshape(int(np.prod(x.shape[:ax], dtype=np.int64)), -1)
        elif op == "Reshape":
            shape = [int(s) for s in ins[1]]
            shape = [ins[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
            y = ins[0].reshape(shape)
        elif op == "Gemm":
            A, B = ins[0].astype(np.float64), ins[1].astype(np.float64)
            if a.get("transA", 0):
                A = A.T
            if a.get("transB", 0):
                B = B.T
            y = a.get("alpha", 1.0) * (A @ B)
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get("beta", 1.0) * ins[2].astype(np.float64)
        elif op == "MatMul":
            y = ins[0].astype(np.float64) @ ins[1].astype(np.float64)
        elif op == "Add":
            y = ins[0].astype(np.float64) + ins[1].astype(np.float64)
        elif op == "Softmax":
            ax = a.get("axis", -1)  # opset 13 semantics: single axis
            x = ins[0].astype(np.float64)
            e = np.exp(x - x.max(axis=ax, keepdims=True))
            y = e / e.sum(axis=ax, keepdims=True)
        elif op == "Identity":
            y = ins[0]
        elif op == "Constant":
            y = numpy_helper.to_array(a["value"])
        else:
            raise NotImplementedError(f"onnx_numpy_ref: op {op} (node {node.name!r})")
        if isinstance(y, np.ndarray) and y.dtype == np.float64:
            y = y.astype(np.float32)
        env[node.output[0]] = y
    return {o.name: env[o.name] for o in model.graph.output}
