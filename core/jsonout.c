/* SPDX-License-Identifier: MIT */
/*
 * jsonout.c - the JSON text of a cJSON tree, the bytes
 * cJSON_PrintUnformatted gives, written into one gs_buf.
 *
 * cJSON sizes every string's escapes in one pass and copies it in a
 * second, a byte at a time, and writes every number with sprintf and
 * reads it back with sscanf to see whether 15 digits were enough: on a
 * 2 KB chat request, printing took twice as long as parsing.  Here a
 * string goes eight bytes a step while none needs an escape, and an
 * integral number of magnitude below 10^15 (counts, ids, timestamps,
 * token numbers: what chat JSON holds) is written as its digits, which
 * is what "%1.15g" gives for it.  Any other number, and -0 (cJSON
 * versions differ on it), is printed by cJSON itself, so no number can
 * come out differently.  tests/unit/test-fastpaths compares the two on
 * random trees.
 */
#include "jsonout.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define JO_ONES 0x0101010101010101ull
#define JO_HIGH 0x8080808080808080ull

/* Whether one of 8 bytes is a control character, '"' or '\\' (no false
 * negatives; a rare false positive only sends the caller byte by byte). */
static int jo_special8(uint64_t x)
{
	uint64_t q = x ^ (JO_ONES * '"'), bs = x ^ (JO_ONES * '\\');

	return ((((x - JO_ONES * 0x20) & ~x) | ((q - JO_ONES) & ~q) |
		 ((bs - JO_ONES) & ~bs)) & JO_HIGH) != 0;
}

static int jo_special(unsigned char ch)
{
	return ch < 0x20 || ch == '"' || ch == '\\';
}

int gs__json_str(gs_buf *b, const char *s)
{
	static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
	size_t len, i = 0, done = 0;

	if (!s)
		s = "";
	len = strlen(s);
	/* room for the text as it is: most need no escape */
	if (gs_buf_reserve(b, len + 2) < 0 || GS_BUF_LIT(b, "\"") < 0)
		return -1;
	for (;;) {
		const char *q;
		unsigned char ch;
		char esc[8];

		for (; i + 8 <= len; i += 8) {
			uint64_t x;

			memcpy(&x, s + i, 8);
			if (jo_special8(x))
				break;
		}
		while (i < len && !jo_special((unsigned char)s[i]))
			i++;
		if (i == len)
			break;
		if (gs_buf_add(b, s + done, i - done) < 0)
			return -1;
		ch = (unsigned char)s[i];
		q = memchr(from, ch, sizeof from - 1);
		if (q) { /* JSON's short forms */
			esc[0] = '\\';
			esc[1] = to[q - from];
			esc[2] = '\0';
		} else {
			snprintf(esc, sizeof esc, "\\u%04x", ch);
		}
		if (gs_buf_add(b, esc, strlen(esc)) < 0)
			return -1;
		done = ++i;
	}
	if (gs_buf_add(b, s + done, len - done) < 0)
		return -1;
	return GS_BUF_LIT(b, "\"");
}

int gs__json_int(gs_buf *b, long long v)
{
	char digits[24];
	size_t i = sizeof digits;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v
				     : (unsigned long long)v;

	do
		digits[--i] = (char)('0' + u % 10);
	while ((u /= 10));
	if (v < 0)
		digits[--i] = '-';
	return gs_buf_add(b, digits + i, sizeof digits - i);
}

static int jo_number(gs_buf *b, const cJSON *item)
{
	double d = item->valuedouble;
	char *s;
	int rc;

	if (d > -1e15 && d < 1e15 && d == (double)(long long)d &&
	    !(d == 0 && signbit(d)))
		return gs__json_int(b, (long long)d);
	if (!(s = cJSON_PrintUnformatted(item)))
		return -1;
	rc = gs_buf_puts(b, s);
	cJSON_free(s);
	return rc;
}

int gs__json_value(gs_buf *b, const cJSON *item)
{
	const cJSON *c;

	switch (item->type & 0xFF) {
	case cJSON_NULL:
		return GS_BUF_LIT(b, "null");
	case cJSON_False:
		return GS_BUF_LIT(b, "false");
	case cJSON_True:
		return GS_BUF_LIT(b, "true");
	case cJSON_Number:
		return jo_number(b, item);
	case cJSON_String:
		return gs__json_str(b, item->valuestring);
	case cJSON_Raw:
		return item->valuestring ? gs_buf_puts(b, item->valuestring)
					 : -1;
	case cJSON_Array:
		if (GS_BUF_LIT(b, "[") < 0)
			return -1;
		for (c = item->child; c; c = c->next)
			if ((c != item->child && GS_BUF_LIT(b, ",") < 0) ||
			    gs__json_value(b, c) < 0)
				return -1;
		return GS_BUF_LIT(b, "]");
	case cJSON_Object:
		if (GS_BUF_LIT(b, "{") < 0)
			return -1;
		for (c = item->child; c; c = c->next)
			if ((c != item->child && GS_BUF_LIT(b, ",") < 0) ||
			    gs__json_str(b, c->string) < 0 ||
			    GS_BUF_LIT(b, ":") < 0 || gs__json_value(b, c) < 0)
				return -1;
		return GS_BUF_LIT(b, "}");
	default:
		return -1;
	}
}

char *gs__json_print(const cJSON *item)
{
	gs_buf b = GS_BUF_INIT;

	if (gs_buf_reserve(&b, 256) < 0 || gs__json_value(&b, item) < 0) {
		gs_buf_free(&b);
		return NULL;
	}
	return b.data;
}
