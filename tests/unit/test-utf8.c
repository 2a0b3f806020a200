/* SPDX-License-Identifier: MIT */
#include <guardstack/plugin.h>
#include "../tap.h"

static size_t chk(const char *s)
{
	return gs_utf8_check(s, strlen(s));
}

int main(void)
{
	is_int(chk(""), 0, "empty is valid");
	is_int(chk("plain ascii text longer than eight bytes"), 40, "ascii");
	is_int(chk("h\xc3\xa9llo \xe2\x98\x83 \xf0\x9d\x84\x9e"), 15,
	       "2, 3 and 4 byte sequences");
	is_int(chk("ab\xc0\xaf"), 2, "overlong 2-byte refused");
	is_int(chk("ab\xe0\x80\xaf"), 2, "overlong 3-byte refused");
	is_int(chk("ab\xf0\x80\x80\xaf"), 2, "overlong 4-byte refused");
	is_int(chk("a\xed\xa0\x80"), 1, "UTF-16 surrogate refused");
	is_int(chk("a\xf4\x90\x80\x80"), 1, "past U+10FFFF refused");
	is_int(chk("a\xf5\x80\x80\x80"), 1, "F5 lead byte refused");
	is_int(chk("abc\x80"), 3, "lone continuation byte refused");
	is_int(chk("abc\xe2\x98"), 3, "truncated sequence at the end refused");
	is_int(chk("abcdefgh\xe2\x98x"), 8, "bad continuation after fast path");
	is_int(chk("\xef\xbb\xbf"), 3, "BOM is valid");
	is_int(chk("\xf4\x8f\xbf\xbf"), 4, "U+10FFFF is valid");
	is_int(gs_utf8_count("h\xc3\xa9\xe2\x98\x83", 6), 3, "count code points");
	is_int(gs_utf8_floor("h\xc3\xa9", 3, 2), 1, "floor backs off a split");
	is_int(gs_utf8_floor("h\xc3\xa9", 3, 3), 3, "floor keeps whole");
	is_int(gs_utf8_floor("h\xc3\xa9", 3, 9), 3, "floor caps at length");
	is_int(gs_utf8_floor("\xf0\x9d\x84\x9e", 4, 3), 0, "floor to zero");
	return done_testing();
}
