/* hex.h - lower-case hexadecimal text of bytes (digests, signatures). */
#ifndef COMMON_HEX_H
#define COMMON_HEX_H

#include <stddef.h>

/* Writes the 2n hex digits of the n bytes of in, and a NUL, into out (2n + 1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);

#endif
