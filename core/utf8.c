/* SPDX-License-Identifier: MIT */
/* utf8.c - UTF-8 validation and counting.  Every text is checked on the
 * way in and again after each filter that replaces it, so the ASCII fast
 * paths read 32 or 64 bytes at a time: most model traffic is ASCII, and
 * these loops then run near memory speed. */
#include "internal.h"
#include <stdint.h>
#include <string.h>

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static uint64_t load64(const unsigned char *s)
{
	uint64_t w;

	memcpy(&w, s, 8);
	return w;
}

/* Nonzero when some byte of w is 0 (exact as a yes/no answer). */
static uint64_t zero_byte(uint64_t w)
{
	return (w - ONES) & ~w & HIGHS;
}

/* x86-64 CPUs with AVX2 (nearly all in service) scan 64 bytes a step;
 * the choice is made per call from the CPU's feature bits, so the same
 * binary still runs on older ones. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define GS_AVX2 1

__attribute__((target("avx2")))
static size_t ascii_span_avx2(const unsigned char *s, size_t i, size_t len,
			      int nul)
{
	const __m256i zero = _mm256_setzero_si256();

	while (len - i >= 64) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(s + i));
		__m256i b = _mm256_loadu_si256((const __m256i *)(s + i + 32));

		if (_mm256_movemask_epi8(_mm256_or_si256(a, b)))
			break;
		if (nul && _mm256_movemask_epi8(_mm256_or_si256(
				   _mm256_cmpeq_epi8(a, zero),
				   _mm256_cmpeq_epi8(b, zero))))
			break;
		i += 64;
	}
	return i;
}

/* Code points in s[0..len): bytes that are not 10xxxxxx, that is, not
 * below -64 as signed bytes. */
__attribute__((target("avx2,popcnt")))
static size_t count_avx2(const unsigned char *s, size_t len, size_t *done)
{
	const __m256i lim = _mm256_set1_epi8(-65);
	size_t n = 0, i = 0;

	for (; len - i >= 32; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(s + i));

		n += (size_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(
			_mm256_cmpgt_epi8(v, lim)));
	}
	*done = i;
	return n;
}
#endif

/* Offset of the first 32-byte block from i on that holds a byte >= 0x80
 * (or, with nul, a 0 byte); the bytes before it need no look. */
static size_t ascii_span(const unsigned char *s, size_t i, size_t len,
			 int nul)
{
#ifdef GS_AVX2
	if (__builtin_cpu_supports("avx2"))
		i = ascii_span_avx2(s, i, len, nul);
#endif
	while (len - i >= 32) {
		uint64_t a = load64(s + i), b = load64(s + i + 8);
		uint64_t c = load64(s + i + 16), d = load64(s + i + 24);

		if ((a | b | c | d) & HIGHS)
			break;
		if (nul && (zero_byte(a) | zero_byte(b) | zero_byte(c) |
			    zero_byte(d)))
			break;
		i += 32;
	}
	return i;
}

/* Validates s[i..len) as UTF-8 from a character boundary i; returns the
 * offset of the first bad byte or len.  With nul, *nul_at is set to the
 * first 0 byte (or len) in the same pass. */
static size_t check(const unsigned char *s, size_t i, size_t len, int nul,
		    size_t *nul_at)
{
	size_t slow = 0; /* up to here, bytes are looked at one by one */

	while (i < len) {
		unsigned c;

		if (i >= slow) {
			size_t j = ascii_span(s, i, len, nul && *nul_at == len);

			if (j != i) {
				i = j;
				continue;
			}
			slow = i + 32; /* this block needs a closer look */
		}
		c = s[i];
		if (c < 0x80) {
			if (c == 0 && nul && *nul_at == len)
				*nul_at = i;
			i++;
			continue;
		}
		size_t n;
		unsigned lo = 0x80, hi = 0xBF;
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			if (c == 0xE0)
				lo = 0xA0; /* overlong */
			else if (c == 0xED)
				hi = 0x9F; /* surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F; /* past U+10FFFF */
		} else {
			return i;
		}
		if (len - i <= n)
			return i;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t k = 2; k <= n; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
		i += n + 1;
	}
	return len;
}

size_t gs_utf8_check(const char *s, size_t len)
{
	return check((const unsigned char *)s, 0, len, 0, NULL);
}

size_t gs__utf8_check_nul(const char *s, size_t len, size_t *nul_at)
{
	*nul_at = len;
	return check((const unsigned char *)s, 0, len, 1, nul_at);
}

size_t gs_utf8_count(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = len, i = 0;

#ifdef GS_AVX2
	if (__builtin_cpu_supports("avx2") &&
	    __builtin_cpu_supports("popcnt")) {
		size_t c = count_avx2(s, len, &i);

		n = len - i + c; /* the tail is counted below */
	}
#endif

	/* A continuation byte is 10xxxxxx: bit 7 set and bit 6 clear.
	 * Shifting left by one moves bit 6 under bit 7 of the same byte;
	 * the multiplication adds the eight 0/1 bytes into the top one
	 * (no popcount instruction in the baseline x86-64 ISA). */
	for (; len - i >= 8; i += 8) {
		uint64_t w = load64(s + i);

		n -= (size_t)((((w & ~(w << 1) & HIGHS) >> 7) * ONES) >> 56);
	}
	for (; i < len; i++)
		n -= (s[i] & 0xC0) == 0x80;
	return n;
}

size_t gs_utf8_floor(const char *str, size_t len, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;

	if (max >= len)
		return len;
	while (max > 0 && (s[max] & 0xC0) == 0x80)
		max--;
	return max;
}
