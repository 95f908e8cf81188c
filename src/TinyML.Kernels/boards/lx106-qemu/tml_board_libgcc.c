/*
 * 64-bit integer helpers that Debian's libgcc for xtensa-lx106 leaves out (the ESP8266 ROM provides them on the
 * real chip; picolibc's printf and any int64 division need them). Written over the helpers that are present
 * (__udivmoddi4, __divmoddi4) and __umulsidi3, which the firmware builder assembles from gcc's own
 * libgcc/config/xtensa/lib1funcs.S together with the other missing ones (Board.HelperLibrary, never committed).
 */
#include <stdint.h>

uint64_t __umulsidi3(uint32_t a, uint32_t b);
uint64_t __udivmoddi4(uint64_t a, uint64_t b, uint64_t *remainder);
int64_t __divmoddi4(int64_t a, int64_t b, int64_t *remainder);
int64_t __muldi3(int64_t a, int64_t b);
int64_t __divdi3(int64_t a, int64_t b);
uint64_t __udivdi3(uint64_t a, uint64_t b);
uint64_t __umoddi3(uint64_t a, uint64_t b);

/* Low 64 bits of a * b: one 32x32->64 product plus the two cross terms' low halves (written out, so gcc cannot
 * turn it back into a __muldi3 call). */
int64_t __muldi3(int64_t a, int64_t b)
{
    const uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    const uint32_t al = (uint32_t)ua, ah = (uint32_t)(ua >> 32), bl = (uint32_t)ub, bh = (uint32_t)(ub >> 32);
    const uint64_t low = __umulsidi3(al, bl);
    const uint32_t high = (uint32_t)(low >> 32) + al * bh + ah * bl;
    return (int64_t)(((uint64_t)high << 32) | (uint32_t)low);
}

/* __divmoddi4 writes *remainder unconditionally, so it always gets a real variable. */
int64_t __divdi3(int64_t a, int64_t b)
{
    int64_t remainder;
    return __divmoddi4(a, b, &remainder);
}

uint64_t __udivdi3(uint64_t a, uint64_t b)
{
    uint64_t remainder;
    return __udivmoddi4(a, b, &remainder);
}

uint64_t __umoddi3(uint64_t a, uint64_t b)
{
    uint64_t remainder;
    (void)__udivmoddi4(a, b, &remainder);
    return remainder;
}
