namespace TinyML.Ir;

/// <summary>
/// The geometry of a fully connected layer (TFLite FULLY_CONNECTED, a Gemm/MatMul with constant weights in int8 or
/// int16x8): each of Rows input rows of InFeatures values gives OutFeatures outputs (row r reads at r * InFeatures,
/// writes at r * OutFeatures); weights [OutFeatures, InFeatures].
/// </summary>
public sealed record FullyConnectedGeometry(int InFeatures, int OutFeatures, int Rows = 1);

/// <summary>
/// The geometry of a float32 Gemm with constant B (<see cref="FGemm"/>): out[m,n] sums over k A(m,k) * Weights[n,k],
/// A(m,k) = a[m * ARowStride + k * AColStride] (transA swaps the strides), the bias read at m * BiasRowStride + n
/// (BiasRowStride 0: one bias row for every m). Batched MatMul (batch dimensions broadcast): the Gemm runs once per
/// output batch t, reading A from element AOffsets[t], weights from WeightOffsets[t] (each a [N, K] block of the
/// weights) and writing output block t of M*N floats; both null for a plain Gemm.
/// </summary>
public sealed record GemmGeometry(
    int M, int K, int N, int ARowStride, int AColStride, int BiasRowStride, int[]? AOffsets = null, int[]? WeightOffsets = null);
