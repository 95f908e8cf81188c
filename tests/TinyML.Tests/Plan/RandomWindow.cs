namespace TinyML.Tests.Plan;

/// <summary>
/// A random sliding window along H and W for the random chains of the tiling tests: kernel 1-5 (3 twice as likely),
/// stride 1-2, dilation 2 a third of the time where the op allows it, the padding above and below drawn apart
/// (uneven), the same padding left and right.
/// </summary>
internal sealed record RandomWindow(int Kernel, int KernelW, int Stride, int Dilation, int Top, int Bottom, int Left, int OutH, int OutW)
{
    /// <summary>Whether the window fits the padded input rows and leaves at least two output rows.</summary>
    public bool Fits(int inH) => OutH >= 2 && inH + Top + Bottom >= (Kernel - 1) * Dilation + 1;

    public static RandomWindow Draw(Random random, int inH, int inW, bool dilated)
    {
        var kernel = new[] { 1, 2, 3, 3, 5 }[random.Next(5)];
        var stride = random.Next(1, 3);
        var dilation = dilated && kernel > 1 && random.Next(3) == 0 ? 2 : 1;
        var reach = (kernel - 1) * dilation + 1;
        var (top, bottom) = (random.Next(reach), random.Next(reach));
        var kernelW = Math.Min(kernel, inW);
        var left = random.Next(kernelW);
        return new(kernel, kernelW, stride, dilation, top, bottom, left, (inH + top + bottom - reach) / stride + 1, (inW + left + left - kernelW) / stride + 1);
    }
}
