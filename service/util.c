/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The shared helpers of nimbus_util.h: array growth with overflow checks,
 * strict base64 in both RFC 4648 alphabets, and the growable byte buffer
 * the JSON writer builds every response in.
 *
 * Base64 is written here rather than taken from OpenSSL because
 * EVP_DecodeBlock knows only the standard alphabet, skips whitespace and
 * counts padding as zero bytes, while cursors need the URL alphabet without
 * padding and every caller wants exactly one accepted encoding per value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus_util.h"

void *nimbus_grow(void *items, size_t *cap, size_t need, size_t item_size, size_t first)
{
    if (need <= *cap && items != NULL) {
        return items;
    }
    size_t new_cap = *cap > SIZE_MAX / 2 ? need : *cap * 2;
    if (new_cap < first) {
        new_cap = first;
    }
    if (new_cap < need) {
        new_cap = need;
    }
    if (item_size == 0 || new_cap > SIZE_MAX / item_size) {
        return NULL;
    }
    void *grown = realloc(items, new_cap * item_size);
    if (grown == NULL) {
        return NULL;
    }
    *cap = new_cap;
    return grown;
}

/* ---- base64 ---------------------------------------------------------- */

static const char STD_ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL_ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t nimbus_base64_encoded_len(size_t n, nimbus_base64_t alphabet)
{
    if (alphabet == NIMBUS_BASE64_STD_LENIENT) {
        alphabet = NIMBUS_BASE64_STD;
    }
    if (alphabet == NIMBUS_BASE64_STD) {
        return (n + 2) / 3 * 4;
    }
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

long nimbus_base64_encode(const void *in, size_t n, char *out, size_t out_size,
                          nimbus_base64_t alphabet)
{
    const unsigned char *p = in;
    const char *digits = alphabet == NIMBUS_BASE64_STD ? STD_ALPHABET : URL_ALPHABET;
    size_t need = nimbus_base64_encoded_len(n, alphabet);
    if (out_size == 0) {
        return -1;
    }
    out[0] = '\0';
    if (need >= out_size) {
        return -1;
    }
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | p[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = digits[(acc >> bits) & 0x3F];
        }
    }
    if (bits > 0) {
        out[o++] = digits[(acc << (6 - bits)) & 0x3F];
    }
    while (alphabet == NIMBUS_BASE64_STD && o % 4 != 0) {
        out[o++] = '=';
    }
    out[o] = '\0';
    return (long)o;
}

static int digit_value(const char *digits, char c)
{
    const char *p = c == '\0' ? NULL : strchr(digits, c);
    return p == NULL ? -1 : (int)(p - digits);
}

long nimbus_base64_decode(const char *text, size_t len, void *out, size_t out_size,
                          nimbus_base64_t alphabet)
{
    bool lenient = alphabet == NIMBUS_BASE64_STD_LENIENT;
    if (lenient) {
        alphabet = NIMBUS_BASE64_STD;
    }
    const char *digits = alphabet == NIMBUS_BASE64_STD ? STD_ALPHABET : URL_ALPHABET;
    unsigned char *o = out;
    if (alphabet == NIMBUS_BASE64_STD) {
        if (len % 4 != 0) {
            return -1;
        }
        /* At most two '=' and only at the very end. */
        size_t pad = 0;
        while (pad < 2 && pad < len && text[len - 1 - pad] == '=') {
            pad++;
        }
        len -= pad;
    }
    if (len % 4 == 1) {
        return -1; /* 6 bits cannot end a byte */
    }
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = digit_value(digits, text[i]);
        if (v < 0) {
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == out_size) {
                return -1;
            }
            o[n++] = (unsigned char)(acc >> bits);
        }
    }
    if (!lenient && (acc & ((1u << bits) - 1)) != 0) {
        return -1; /* non-canonical trailing bits */
    }
    return (long)n;
}

/* ---- byte buffer ------------------------------------------------------ */

void nimbus_buf_init(nimbus_buf_t *b)
{
    memset(b, 0, sizeof(*b));
}

void nimbus_buf_cleanup(nimbus_buf_t *b)
{
    free(b->data);
    nimbus_buf_init(b);
}

void nimbus_buf_append(nimbus_buf_t *b, const void *bytes, size_t n)
{
    if (b->failed || n == 0) {
        return;
    }
    char *grown =
        n > SIZE_MAX - b->len - 1 ? NULL : nimbus_grow(b->data, &b->cap, b->len + n + 1, 1, 256);
    if (grown == NULL) {
        b->failed = true;
        return;
    }
    b->data = grown;
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void nimbus_buf_append_str(nimbus_buf_t *b, const char *s)
{
    nimbus_buf_append(b, s, strlen(s));
}

char *nimbus_buf_steal(nimbus_buf_t *b, size_t *len)
{
    if (b->failed) {
        nimbus_buf_cleanup(b);
        return NULL;
    }
    char *data = b->data;
    size_t n = b->len;
    if (data == NULL) {
        data = calloc(1, 1);
        if (data == NULL) {
            return NULL;
        }
    }
    nimbus_buf_init(b);
    if (len != NULL) {
        *len = n;
    }
    return data;
}

int nimbus_hex_value(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Every answer carries a request id and most an ETag, 16 digits each: by
 * hand, a digit at a time, that was ~180 instructions a request
 * (bench/callgrind_read.sh). Here eight digits at once: each nibble of a
 * 32-bit half is spread into a byte of its own, and the bytes holding 10
 * or more are moved up from '0'+n to 'a'+n-10 together. */
static inline void hex32(uint32_t v, char out[8])
{
    uint64_t n = v;
    n = (n & 0xFFFF0000u) << 16 | (n & 0x0000FFFFu);
    n = (n & 0x0000FF000000FF00u) << 8 | (n & 0x000000FF000000FFu);
    n = (n & 0x00F000F000F000F0u) << 4 | (n & 0x000F000F000F000Fu);
    /* Each byte now holds a nibble, the most significant in the top byte;
     * adding 6 carries into bit 4 exactly for the nibbles >= 10. */
    uint64_t letters = (n + 0x0606060606060606u) >> 4 & 0x0101010101010101u;
    n += 0x3030303030303030u + letters * ('a' - '0' - 10);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    n = __builtin_bswap64(n); /* the top byte goes first in memory */
#endif
    memcpy(out, &n, 8);
}

void nimbus_hex64(uint64_t v, char out[16])
{
    hex32((uint32_t)(v >> 32), out);
    hex32((uint32_t)v, out + 8);
}

/* nimbus_hex_value for lower-case digits only. */
static int lower_hex_value(char c)
{
    return c >= 'A' && c <= 'F' ? -1 : nimbus_hex_value(c);
}

bool nimbus_hex_decode_lower(const char *text, size_t len, unsigned char *out, size_t n)
{
    if (len != 2 * n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = lower_hex_value(text[2 * i]), lo = lower_hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}
