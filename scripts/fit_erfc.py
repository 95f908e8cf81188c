#!/usr/bin/env python3
"""Fits the float32 erfc of src/TinyML.Kernels/src/tml_unary_f32.c (standard library only, deterministic).

For x >= 0, erfc(x) = t * exp(-x^2 + P(t)) with t = 1 / (1 + x / 2): P(t) = log(erfc(x) / t) + x^2 is smooth on
t in (0, 1] and tends to -log(2 * sqrt(pi)) as x -> infinity (t -> 0), because erfc(x) ~ exp(-x^2) / (x sqrt(pi)).
P is interpolated at Chebyshev nodes of [0, 1] (degree 9) and written in monomial form for Horner's rule; the script
prints the coefficients and the largest relative error of the float-free formula over x in [0, 10].
"""
import math

DEGREE = 9


def p_of_t(t):
    if t == 0.0:
        return -math.log(2.0 * math.sqrt(math.pi))
    x = 2.0 * (1.0 / t - 1.0)
    e = math.erfc(x)
    if e == 0.0:  # beyond double's range: the asymptotic series (x > 26)
        return math.log((1.0 - 1.0 / (2 * x * x) + 3.0 / (4 * x ** 4)) / (x * math.sqrt(math.pi) * t))
    return math.log(e / t) + x * x


def solve(a, b):
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                for k in range(c, n + 1):
                    m[r][k] -= f * m[c][k]
    return [m[i][n] / m[i][i] for i in range(n)]


def main():
    n = DEGREE + 1
    nodes = [0.5 + 0.5 * math.cos(math.pi * (2 * k + 1) / (2 * n)) for k in range(n)]
    # Interpolation in the monomial basis (degree 9 on [0, 1] is well enough conditioned in double).
    coefficients = solve([[t ** j for j in range(n)] for t in nodes], [p_of_t(t) for t in nodes])
    worst = 0.0
    for i in range(1, 20001):
        x = 10.0 * i / 20000
        t = 1.0 / (1.0 + 0.5 * x)
        p = 0.0
        for c in reversed(coefficients):
            p = p * t + c
        approx = t * math.exp(-x * x + p)
        worst = max(worst, abs(approx - math.erfc(x)) / math.erfc(x))
    for j, c in enumerate(coefficients):
        print(f"c{j} = {c:.9e}")
    print(f"largest relative error over x in (0, 10]: {worst:.2e}")


if __name__ == "__main__":
    main()
