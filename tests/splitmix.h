/* SPDX-License-Identifier: MIT */
/*
 * splitmix64 for the tests that generate their inputs: small, fast, and
 * the same everywhere, so a failure replays.  Each test keeps its own
 * state (its seed) and passes it in.
 */
#ifndef GS_TEST_SPLITMIX_H
#define GS_TEST_SPLITMIX_H

#include <stdint.h>

static inline uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#endif
