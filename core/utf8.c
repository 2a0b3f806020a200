/* SPDX-License-Identifier: MIT */
/* utf8.c - UTF-8 validation and counting.  Every text is checked on the
 * way in and again after each filter that replaces it, so the ASCII fast
 * paths read 32 or 64 bytes at a time: most model traffic is ASCII, and
 * these loops then run near memory speed.  Where a block is not all ASCII
 * (a name, a quote, an emoji), AVX2 checks it 32 bytes a step as well;
 * the byte loop finds the exact offset of an error and takes the tail. */
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

/* Validating 32 bytes at once: each byte is judged by the byte before
 * it (both nibbles) and its own high nibble, through three 16-entry
 * tables whose entries are sets of error kinds (one bit each); a pair is
 * bad when some kind is in all three of its entries.  Every kind below is
 * a product of one condition per nibble, which is what makes the AND
 * exact:
 *   prev1 hi | prev1 lo  | cur hi   kind
 *   C-F      | any       | 0-7 C-F  a lead byte without a continuation
 *   0-7      | any       | 8-B      a continuation after ASCII
 *   8-B      | any       | 8-B      two continuations (see below)
 *   C        | 0-1       | 8-B      overlong 2-byte (C0, C1)
 *   E        | 0         | 8-9      overlong 3-byte
 *   E        | D         | A-B      a UTF-16 surrogate
 *   F        | 0, 5-F    | 8        overlong 4-byte, or past U+10FFFF
 *   F        | 4-F       | 9-B      past U+10FFFF
 * (the last two share a bit: their union holds no valid pair).  Two
 * continuations in a row are right exactly where the byte two back
 * starts a 3- or 4-byte sequence, or the one three back a 4-byte one: so
 * that kind's bit is flipped where those say so, which also flags such a
 * place that lacks its continuation. */
#define U8_SHORT 0x01     /* lead byte, no continuation */
#define U8_LONG 0x02      /* continuation after ASCII */
#define U8_OVER3 0x04
#define U8_LARGE 0x08     /* F4 90.., F5.. 90.. */
#define U8_SURR 0x10
#define U8_OVER2 0x20
#define U8_4_80 0x40      /* F0 80..8F, F5.. 80..8F */
#define U8_CONTS 0x80
#define U8_ANY (U8_SHORT | U8_LONG | U8_CONTS) /* whatever the low nibble */
#define U8_X2(...) _mm256_setr_epi8(__VA_ARGS__, __VA_ARGS__)

__attribute__((target("avx2")))
static __m256i utf8_errors(__m256i in, __m256i prev)
{
	const __m256i t1h = U8_X2(
		U8_LONG, U8_LONG, U8_LONG, U8_LONG,
		U8_LONG, U8_LONG, U8_LONG, U8_LONG,
		U8_CONTS, U8_CONTS, U8_CONTS, U8_CONTS,
		U8_SHORT | U8_OVER2, U8_SHORT,
		U8_SHORT | U8_OVER3 | U8_SURR,
		U8_SHORT | U8_LARGE | U8_4_80);
	const __m256i t1l = U8_X2(
		(char)(U8_ANY | U8_OVER3 | U8_OVER2 | U8_4_80),
		(char)(U8_ANY | U8_OVER2), (char)U8_ANY, (char)U8_ANY,
		(char)(U8_ANY | U8_LARGE),
		(char)(U8_ANY | U8_LARGE | U8_4_80),
		(char)(U8_ANY | U8_LARGE | U8_4_80),
		(char)(U8_ANY | U8_LARGE | U8_4_80),
		(char)(U8_ANY | U8_LARGE | U8_4_80),
		(char)(U8_ANY | U8_LARGE | U8_4_80),
		(char)(U8_ANY | U8_LARGE | U8_4_80),
		(char)(U8_ANY | U8_LARGE | U8_4_80),
		(char)(U8_ANY | U8_LARGE | U8_4_80),
		(char)(U8_ANY | U8_LARGE | U8_4_80 | U8_SURR),
		(char)(U8_ANY | U8_LARGE | U8_4_80),
		(char)(U8_ANY | U8_LARGE | U8_4_80));
	const __m256i t2h = U8_X2(
		U8_SHORT, U8_SHORT, U8_SHORT, U8_SHORT,
		U8_SHORT, U8_SHORT, U8_SHORT, U8_SHORT,
		(char)(U8_LONG | U8_CONTS | U8_OVER2 | U8_OVER3 | U8_4_80),
		(char)(U8_LONG | U8_CONTS | U8_OVER2 | U8_OVER3 | U8_LARGE),
		(char)(U8_LONG | U8_CONTS | U8_OVER2 | U8_SURR | U8_LARGE),
		(char)(U8_LONG | U8_CONTS | U8_OVER2 | U8_SURR | U8_LARGE),
		U8_SHORT, U8_SHORT, U8_SHORT, U8_SHORT);
	const __m256i nib = _mm256_set1_epi8(0x0F);
	/* the 32 bytes one, two and three places back (the first ones from
	 * the block before) */
	__m256i cross = _mm256_permute2x128_si256(prev, in, 0x21);
	__m256i p1 = _mm256_alignr_epi8(in, cross, 15);
	__m256i p2 = _mm256_alignr_epi8(in, cross, 14);
	__m256i p3 = _mm256_alignr_epi8(in, cross, 13);
	__m256i e = _mm256_and_si256(
		_mm256_and_si256(
			_mm256_shuffle_epi8(t1h, _mm256_and_si256(
				_mm256_srli_epi16(p1, 4), nib)),
			_mm256_shuffle_epi8(t1l, _mm256_and_si256(p1, nib))),
		_mm256_shuffle_epi8(t2h, _mm256_and_si256(
			_mm256_srli_epi16(in, 4), nib)));
	/* nonzero where the byte two back is E0.. or three back F0.. */
	__m256i third = _mm256_or_si256(
		_mm256_subs_epu8(p2, _mm256_set1_epi8((char)0xDF)),
		_mm256_subs_epu8(p3, _mm256_set1_epi8((char)0xEF)));

	return _mm256_xor_si256(e, _mm256_andnot_si256(
		_mm256_cmpeq_epi8(third, _mm256_setzero_si256()),
		_mm256_set1_epi8((char)U8_CONTS)));
}

/* Validates whole 32-byte blocks from the character boundary i while
 * they are good, noting the first 0 byte on the way when asked (with nul
 * and *nul_at still len); returns a character boundary up to which all is
 * valid: the start of the character that the first bad or unread block
 * cuts, if one does.  An ASCII block only needs the one before it not to
 * end inside a character (most blocks are ASCII). */
__attribute__((target("avx2")))
static size_t utf8_span_avx2(const unsigned char *s, size_t i, size_t len,
			     int nul, size_t *nul_at)
{
	/* a byte of the last three that a character's rest must follow */
	const __m256i last = _mm256_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, (char)0xEF, (char)0xDF, (char)0xBF);
	__m256i prev = _mm256_setzero_si256(), open = prev, in, e;
	size_t p = i, k;

	for (; len - p >= 32; p += 32, prev = in) {
		in = _mm256_loadu_si256((const __m256i *)(s + p));
		if (!_mm256_movemask_epi8(in)) {
			if (!_mm256_testz_si256(open, open))
				break;
		} else {
			e = utf8_errors(in, prev);
			if (!_mm256_testz_si256(e, e))
				break;
			open = _mm256_subs_epu8(in, last);
		}
		if (nul && *nul_at == len) {
			unsigned z = (unsigned)_mm256_movemask_epi8(
				_mm256_cmpeq_epi8(in, _mm256_setzero_si256()));

			if (z)
				*nul_at = p + (size_t)__builtin_ctz(z);
		}
	}
	/* a lead byte in the last three read may start a character that
	 * runs on past p: the byte loop takes it again from there */
	for (k = 1; k <= 3 && p - i >= k; k++) {
		if (s[p - k] >= 0xC0)
			return p - k;
		if (s[p - k] < 0x80)
			break;
	}
	return p;
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

#ifdef GS_AVX2
			if (j == i && len - i >= 32 &&
			    __builtin_cpu_supports("avx2"))
				j = utf8_span_avx2(s, i, len, nul, nul_at);
#endif
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
