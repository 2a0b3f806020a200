/* SPDX-License-Identifier: MIT */
#include <guardstack/plugin.h>
#include <stdint.h>
#include "../tap.h"

int main(void)
{
	gs_buf b = GS_BUF_INIT;
	char *s;
	size_t n;

	ok(b.data == NULL && b.len == 0, "zero-initialised buffer is empty");
	is_int(gs_buf_puts(&b, "abc"), GS_OK, "puts");
	is_int(gs_buf_append(&b, "de\0f", 4), GS_OK, "append with NUL");
	is_int(b.len, 7, "length counts every byte");
	ok(b.data[7] == '\0', "content stays NUL-terminated");
	is_int(gs_buf_printf(&b, "-%d-%s", 42, "x"), GS_OK, "printf");
	is_int(b.len, 12, "printf appends");
	ok(!memcmp(b.data + 7, "-42-x", 6), "printf content");
	for (int i = 0; i < 10000; i++)
		gs_buf_putc(&b, 'z');
	is_int(b.len, 10012, "grows past many doublings");
	ok(b.cap > b.len, "capacity keeps room for the NUL");
	is_int(gs_buf_reserve(&b, SIZE_MAX - 5), GS_ENOMEM,
	       "an impossible reserve fails cleanly");
	is_int(b.len, 10012, "failed reserve leaves the content");
	gs_buf_reset(&b);
	is_int(b.len, 0, "reset empties");
	ok(b.data && b.data[0] == '\0', "reset keeps memory, NUL-terminated");
	gs_buf_puts(&b, "keep");
	s = gs_buf_steal(&b, &n);
	is_str(s, "keep", "steal hands over the content");
	is_int(n, 4, "steal reports the length");
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "steal empties");
	gs_free(s);
	s = gs_buf_steal(&b, &n);
	ok(s && n == 0 && s[0] == '\0', "steal of an empty buffer is \"\"");
	gs_free(s);
	gs_buf_free(&b);
	return done_testing();
}
