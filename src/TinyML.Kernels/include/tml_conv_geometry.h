/* The geometry every direct convolution's parameter block starts with (Conv2D and ConvTranspose, int8, int16x8 and
 * float32; a float32 block has its batch first), as one field list of integer type T: in_c, in_h, in_w; out_c, out_h,
 * out_w; kernel_h, kernel_w; stride_h, stride_w; pad_top, pad_left (may be negative for ConvTranspose);
 * dilation_h, dilation_w; groups. A field list rather than a nested struct, so the generated code fills the blocks
 * with flat initializers in this order. */
#ifndef TML_CONV_GEOMETRY_H
#define TML_CONV_GEOMETRY_H

#define TML_CONV_GEOMETRY_FIELDS(T) \
    T in_c, in_h, in_w;             \
    T out_c, out_h, out_w;          \
    T kernel_h, kernel_w;           \
    T stride_h, stride_w;           \
    T pad_top, pad_left;            \
    T dilation_h, dilation_w;       \
    T groups;

#endif /* TML_CONV_GEOMETRY_H */
