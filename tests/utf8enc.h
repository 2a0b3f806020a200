/* SPDX-License-Identifier: MIT */
/*
 * utf8_encode for the tests that build texts from code points: one
 * encoder, so that no test has its own to get wrong.  The caller keeps
 * to valid code points (no surrogates, at most U+10FFFF).
 */
#ifndef GS_TEST_UTF8ENC_H
#define GS_TEST_UTF8ENC_H

#include <stddef.h>
#include <stdint.h>

/* Writes code point c as UTF-8 to out; returns its length (1 to 4). */
static inline size_t utf8_encode(uint32_t c, char out[4])
{
	size_t n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
	static const unsigned char lead[5] = { 0, 0x00, 0xC0, 0xE0, 0xF0 };

	out[0] = (char)(lead[n] | c >> (6 * (n - 1)));
	for (size_t i = 1; i < n; i++)
		out[i] = (char)(0x80 | ((c >> (6 * (n - 1 - i))) & 0x3F));
	return n;
}

#endif
