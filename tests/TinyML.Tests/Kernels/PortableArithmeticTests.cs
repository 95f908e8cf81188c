using System.Globalization;
using TinyML.Tests.Infrastructure;

namespace TinyML.Tests.Kernels;

/// <summary>
/// Arithmetic the kernels compute differently on some cores, against the plain formulation on the host: the rounding
/// high multiplies built from 16x16-bit products (TML_SLOW_MUL64, cores whose 64-bit multiply is a library call, such
/// as the lx106) must equal the 64-bit expressions for every input, including the extremes.
/// </summary>
[TestClass]
public sealed class PortableArithmeticTests
{
    [TestMethod]
    public void SixteenBitPieceHighMultipliesEqualThe64BitExpressions()
    {
        var source = HostC.WriteSource("""
            #include <stdint.h>
            #include <stdio.h>
            #include "tml_internal.h"

            static int32_t srdhm64(int32_t a, int32_t b)
            {
                uint64_t u;
                if (a == INT32_MIN && b == INT32_MIN) {
                    return INT32_MAX;
                }
                u = (uint64_t)((int64_t)a * b) + ((uint64_t)1 << 30);
                return (int32_t)(uint32_t)(u >> 31);
            }

            static int32_t mulhi64(int32_t a, int32_t m)
            {
                return (int32_t)(uint32_t)(((uint64_t)((int64_t)a * m) + 0x80000000u) >> 32);
            }

            int main(void)
            {
                static const int32_t edges[] = { 0, 1, -1, 2, -2, 32767, 32768, -32768, -32769, 65535, 65536, -65535, -65536,
                    0x3FFFFFFF, -0x3FFFFFFF, 0x40000000, -0x40000000, 0x7FFF0000, -0x7FFF0000, 0x12345678, INT32_MAX,
                    INT32_MIN + 1, INT32_MIN };
                const int n = (int)(sizeof edges / sizeof edges[0]);
                uint64_t s = 88172645463325252ull;
                long checked = 0, wrong = 0;
                int i, j;
                for (i = 0; i < n; ++i) {
                    for (j = 0; j < n; ++j) {
                        checked++;
                        wrong += tml_srdhm_inline(edges[i], edges[j]) != srdhm64(edges[i], edges[j]);
                        if (edges[i] != INT32_MIN && edges[j] > 0) {
                            wrong += tml_mulhi_round_pos(edges[i], edges[j]) != mulhi64(edges[i], edges[j]);
                        }
                    }
                }
                for (i = 0; i < 4000000; ++i) {
                    int32_t a, b;
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    /* Full-range values and, every other draw, shorter ones (accumulators are rarely near 2^31). */
                    a = (int32_t)(uint32_t)s;
                    b = (int32_t)(uint32_t)(s >> 32);
                    if (i & 1) {
                        a = tml_asr(a, (int32_t)(s >> 59));
                    }
                    checked++;
                    wrong += tml_srdhm_inline(a, b) != srdhm64(a, b);
                    if (a != INT32_MIN) {
                        const int32_t m = (int32_t)((uint32_t)b & 0x7FFFFFFFu) | 1;
                        wrong += tml_mulhi_round_pos(a, m) != mulhi64(a, m);
                    }
                }
                printf("%ld %ld\n", checked, wrong);
                return 0;
            }
            """);

        // TML_SLOW_MUL64 forced on: the host then compiles the lx106's formulation.
        var result = HostC.CompileAndRun([source], [HostC.KernelInclude, Path.Combine(TestPaths.Kernels, "src")], ["-DTML_SLOW_MUL64=1"]);

        Assert.AreEqual(0, result.ExitCode, result.StdErr);
        var parts = result.StdOut.Trim().Split(' ').Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        Assert.IsGreaterThan(4_000_000L, parts[0], "the cases ran");
        Assert.AreEqual(0L, parts[1], "16-bit-piece results that differ from the 64-bit expressions");
    }

    [TestMethod]
    public void MultiplyShiftDivisionIsExactOverItsWholeDomain()
    {
        // tml_divide replaces / and % in per-element index arithmetic (strides, pooling windows): every dividend below
        // TML_DIVIDE_LIMIT (2^15) for the divisors 1..1024 and a spread of larger ones up to 2^15.
        var source = HostC.WriteSource("""
            #include <stdint.h>
            #include <stdio.h>
            #include "tml_internal.h"
            int main(void)
            {
                long checked = 0, wrong = 0;
                int32_t d, t;
                for (d = 1; d <= 32768; d = d < 1024 ? d + 1 : d * 2 - 1) {
                    const tml_divider v = tml_divider_for(d);
                    for (t = 0; t < TML_DIVIDE_LIMIT; ++t) {
                        checked++;
                        wrong += tml_divide(v, t) != t / d;
                    }
                }
                printf("%ld %ld\n", checked, wrong);
                return 0;
            }
            """);

        var result = HostC.CompileAndRun([source], [HostC.KernelInclude, Path.Combine(TestPaths.Kernels, "src")]);

        Assert.AreEqual(0, result.ExitCode, result.StdErr);
        var parts = result.StdOut.Trim().Split(' ').Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        Assert.IsGreaterThan(1024L * 32768, parts[0], "the cases ran");
        Assert.AreEqual(0L, parts[1], "quotients that differ from t / d");
    }
}
