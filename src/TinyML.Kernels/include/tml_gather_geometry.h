/* The geometry every gather's parameter block starts with (Transpose, Slice, Concat, Split, Pad, nearest Resize; int8
 * and float32), as one field list over up to TML_GATHER_RANK axes: each output axis d has dims[d] indices and a table
 * built at build time, offsets[d][i] the input element offset index i of axis d contributes (the permutation, slice
 * start/step, pad mode or nearest-neighbour rule folded into it), or -1 where that index lies in constant padding; the
 * output is written at out_offset + sum(i_d * out_strides[d]), so a Concat input lands in its own region of the
 * output. Leading unused axes have dims 1 and a table {0}. A field list rather than a nested struct, so the generated
 * code fills the blocks with flat initializers in this order. */
#ifndef TML_GATHER_GEOMETRY_H
#define TML_GATHER_GEOMETRY_H

#include <stdint.h>

#define TML_GATHER_RANK 6

#define TML_GATHER_GEOMETRY_FIELDS                \
    int32_t dims[TML_GATHER_RANK];                \
    const int32_t *offsets[TML_GATHER_RANK];      \
    int32_t out_strides[TML_GATHER_RANK];         \
    int32_t out_offset;

#endif /* TML_GATHER_GEOMETRY_H */
