/* The walk of the reductions over a [outer][reduce][inner] view (ReduceSum, ReduceMean, ReduceMax), shared by every
 * element type's kernels (tml_reduce_*_f32, tml_reduce_mean_s8, tml_reduce_max_s8): they differ only in how a value
 * folds into the accumulator and how the accumulator becomes the output. Internal to the kernels. */
#ifndef TML_REDUCE_WALK_H
#define TML_REDUCE_WALK_H

#include <stdint.h>

/* Reduces INPUT (const IN_TYPE *) viewed as P's [outer][reduce][inner] (fields outer, reduce, inner) into OUTPUT, one
 * element per (outer, inner): the accumulator (ACC_TYPE) starts at INIT(x), x the run's first element (its elements
 * lie inner apart), folds the run from element FIRST on as acc = FOLD(acc, value), and is stored as FINISH(acc). */
#define TML_REDUCE_WALK(P, IN_TYPE, INPUT, OUTPUT, ACC_TYPE, INIT, FIRST, FOLD, FINISH)             \
    do {                                                                                            \
        int32_t o_, r_, i_;                                                                         \
        for (o_ = 0; o_ < (P)->outer; o_++) {                                                       \
            for (i_ = 0; i_ < (P)->inner; i_++) {                                                   \
                const IN_TYPE *x_ = (INPUT) + o_ * (P)->reduce * (P)->inner + i_;                   \
                ACC_TYPE acc_ = INIT(x_);                                                           \
                for (r_ = (FIRST); r_ < (P)->reduce; r_++) {                                        \
                    acc_ = FOLD(acc_, x_[r_ * (P)->inner]);                                         \
                }                                                                                   \
                (OUTPUT)[o_ * (P)->inner + i_] = FINISH(acc_);                                      \
            }                                                                                       \
        }                                                                                           \
    } while (0)

/* The usual pieces: a sum from zero (INIT), a run's first element (INIT with FIRST 1), the accumulator as it is. */
#define TML_REDUCE_ZERO(x) 0
#define TML_REDUCE_FIRST(x) ((x)[0])
#define TML_REDUCE_ADD(acc, v) ((acc) + (v))
#define TML_REDUCE_SAME(acc) (acc)

#endif /* TML_REDUCE_WALK_H */
