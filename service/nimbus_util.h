/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Small helpers every layer of Nimbus shares, kept here because service/ is
 * the one library all the others link: growing a heap array, base64 in its
 * two alphabets, and a growable byte buffer. None of them knows anything of
 * the contract, of HTTP or of JSON; none keeps global state.
 */
#ifndef NIMBUS_UTIL_H
#define NIMBUS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Makes room for at least `need` (> 0) items of item_size bytes in the heap
 * array `items` (NULL for none yet), whose capacity is *cap items: when it is
 * too small it is reallocated to the largest of `need`, twice *cap and
 * `first`. Returns the array, possibly moved (the caller keeps owning it),
 * with *cap updated; or NULL when the size would overflow or memory ran out,
 * leaving `items` and *cap as they were (still the caller's to free):
 *
 *     T *grown = nimbus_grow(rows, &cap, count + 1, sizeof *rows, 16);
 *     if (grown == NULL) { free(rows); return error; }
 *     rows = grown;
 */
void *nimbus_grow(void *items, size_t *cap, size_t need, size_t item_size, size_t first);

/* The value of the hex digit c (0-9, a-f, A-F), or -1. */
int nimbus_hex_value(int c);
/* Exactly 2 * n lower-case hex digits from text[0..len) into out[0..n):
 * true, or false (out then holds nothing meaningful). For what we wrote
 * ourselves (key files, PostgreSQL's bytea output), where another case
 * means the text is not ours. */
bool nimbus_hex_decode_lower(const char *text, size_t len, unsigned char *out, size_t n);
/* The clock's reading in microseconds (CLOCK_MONOTONIC for durations and
 * deadlines; CLOCK_MONOTONIC_COARSE where a tick's precision will do). */
static inline uint64_t nimbus_clock_us(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* v as exactly 16 lower-case hex digits, most significant first, into
 * out[0..16) (no NUL): what printf's "%016" PRIx64 writes. */
void nimbus_hex64(uint64_t v, char out[16]);

/* Base64 (RFC 4648). STD is section 4 with '=' padding (HTTP Basic,
 * Sec-WebSocket-Accept); URL is section 5 without padding (cursors).
 * STD_LENIENT decodes as STD but takes non-zero unused trailing bits
 * (section 3.5 lets a decoder accept them), for what clients compose
 * themselves: Basic credentials and Sec-WebSocket-Key, which Nimbus read
 * that way before and clients exist that send them so. Encoding with it
 * is STD. */
typedef enum nimbus_base64 {
    NIMBUS_BASE64_STD,
    NIMBUS_BASE64_URL,
    NIMBUS_BASE64_STD_LENIENT
} nimbus_base64_t;

/* Encoded length of n bytes, without the NUL. */
size_t nimbus_base64_encoded_len(size_t n, nimbus_base64_t alphabet);

/* Writes the encoding of in[0..n) and a NUL into out (out_size bytes).
 * Returns the length written, or -1 when out is too small (out is then
 * ""). */
long nimbus_base64_encode(const void *in, size_t n, char *out, size_t out_size,
                          nimbus_base64_t alphabet);

/*
 * Decodes text[0..len) into out (out_size bytes). Strict: only the
 * alphabet's characters; STD needs whole 4-character groups with padding
 * only at the end; URL takes no padding; unused trailing bits must be zero
 * (but for STD_LENIENT), so every byte string has exactly one accepted
 * encoding. Returns the number
 * of bytes decoded, or -1 for text that is not canonical base64 or does not
 * fit in out.
 */
long nimbus_base64_decode(const char *text, size_t len, void *out, size_t out_size,
                          nimbus_base64_t alphabet);

/* A growable byte buffer. Zero-initialise (or nimbus_buf_init), append,
 * then either take the bytes (nimbus_buf_steal) or release them
 * (nimbus_buf_cleanup). An append that cannot grow marks the buffer failed;
 * later appends do nothing, so a writer checks once at the end. */
typedef struct nimbus_buf {
    char *data; /* NUL-terminated whenever len > 0 */
    size_t len;
    size_t cap;
    bool failed;
} nimbus_buf_t;

void nimbus_buf_init(nimbus_buf_t *b);
void nimbus_buf_cleanup(nimbus_buf_t *b); /* frees data; b is then empty */
void nimbus_buf_append(nimbus_buf_t *b, const void *bytes, size_t n);
void nimbus_buf_append_str(nimbus_buf_t *b, const char *s);
/* Returns the bytes (NUL-terminated heap memory the caller frees with
 * free()) and their length in *len, leaving b empty; NULL when the buffer
 * failed or memory ran out (b is then cleaned up). An empty buffer gives
 * "" (a heap string). */
char *nimbus_buf_steal(nimbus_buf_t *b, size_t *len);

/* A count per name with limits, safe to share between threads
 * (service/counts.c): connections per client address, subscriptions per
 * key. Names longer than NIMBUS_COUNTS_NAME_MAX - 1 are cut. */
#define NIMBUS_COUNTS_NAME_MAX 80
typedef struct nimbus_counts nimbus_counts_t;
nimbus_counts_t *nimbus_counts_new(void);    /* NULL: out of memory */
void nimbus_counts_free(nimbus_counts_t *t); /* NULL-safe */
/* Counts one more for name unless that makes the total pass `total` or
 * name's count pass `per_name` (0: no such limit): 0 counted, 1 over the
 * total, 2 over the name's, -1 out of memory. */
int nimbus_counts_take(nimbus_counts_t *t, const char *name, size_t per_name, size_t total);
/* Counts one less for name (one taken before). */
void nimbus_counts_give(nimbus_counts_t *t, const char *name);
size_t nimbus_counts_total(nimbus_counts_t *t);

#endif
