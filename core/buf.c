/* SPDX-License-Identifier: MIT */
/* buf.c - gs_buf, the growable byte buffer used everywhere. */
#include "internal.h"
#include <stdio.h>
#include <string.h>

int gs_buf_reserve(gs_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > (size_t)-1 - b->len - 1)
		return GS_ENOMEM;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return GS_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > (size_t)-1 / 2 ? need : cap * 2;
	p = gs_realloc(b->data, cap);
	if (!p)
		return GS_ENOMEM;
	b->data = p;
	b->cap = cap;
	return GS_OK;
}

int gs_buf_append(gs_buf *b, const char *s, size_t n)
{
	if (gs_buf_reserve(b, n) < 0)
		return GS_ENOMEM;
	if (n)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return GS_OK;
}

int gs_buf_puts(gs_buf *b, const char *s)
{
	return gs_buf_append(b, s, strlen(s));
}

int gs_buf_putc(gs_buf *b, char c)
{
	return gs_buf_append(b, &c, 1);
}

int gs_buf_printf(gs_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	/* Formats straight into the spare room, and a second time only when
	 * it was too small: most calls format once, not twice. */
	if (gs_buf_reserve(b, 32) < 0)
		return GS_ENOMEM;
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= room) {
		if (gs_buf_reserve(b, (size_t)n) < 0) {
			b->data[b->len] = '\0';
			return GS_ENOMEM;
		}
		va_start(ap, fmt);
		n = vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	if (n < 0) {
		b->data[b->len] = '\0';
		return GS_EINVAL;
	}
	b->len += (size_t)n;
	return GS_OK;
}

void gs_buf_reset(gs_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void gs_buf_free(gs_buf *b)
{
	gs_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *gs_buf_steal(gs_buf *b, size_t *len)
{
	char *d;

	if (!b->data && gs_buf_reserve(b, 0) < 0)
		return NULL;
	b->data[b->len] = '\0';
	d = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}
