/* SPDX-License-Identifier: MIT */
/* model.c - messages and their text parts (see model.h). */
#include "internal.h"
#include <cjson/cJSON.h>
#include <string.h>

void gs__doc_init(struct gs__doc *d)
{
	memset(d, 0, sizeof *d);
	d->usage[0] = d->usage[1] = d->usage[2] = -1;
}

static void msg_clear_parts(struct gs__msg *m)
{
	gs_free(m->joined);
	m->joined = NULL;
	for (size_t i = 0; i < m->nparts; i++)
		gs_free(m->parts[i].s);
	gs_free(m->parts);
	m->parts = NULL;
	m->nparts = 0;
}

static void msg_free(struct gs__msg *m)
{
	msg_clear_parts(m);
	gs_free(m->role_name);
	if (m->obj && !m->borrowed)
		cJSON_Delete(m->obj);
}

void gs__doc_clear(struct gs__doc *d)
{
	for (size_t i = 0; i < d->n; i++)
		msg_free(&d->msgs[i]);
	gs_free(d->msgs);
	if (d->root)
		cJSON_Delete(d->root);
	gs_free(d->model);
	gs_free(d->finish_reason);
	gs__doc_init(d);
}

static int grow(struct gs__doc *d)
{
	struct gs__msg *m;
	size_t cap;

	if (d->n < d->cap)
		return GS_OK;
	cap = d->cap ? d->cap * 2 : 4;
	m = gs_realloc(d->msgs, cap * sizeof *m);
	if (!m)
		return GS_ENOMEM;
	d->msgs = m;
	d->cap = cap;
	return GS_OK;
}

struct gs__msg *gs__doc_add(struct gs__doc *d, unsigned role,
			    const char *role_name)
{
	struct gs__msg *m;

	if (grow(d) < 0)
		return NULL;
	m = &d->msgs[d->n];
	memset(m, 0, sizeof *m);
	m->role = role;
	m->role_name = gs_strndup(role_name, strlen(role_name));
	if (!m->role_name)
		return NULL;
	d->n++;
	return m;
}

int gs__doc_insert(struct gs__doc *d, size_t at, unsigned role,
		   const char *role_name, const char *s, size_t len)
{
	struct gs__msg m = { 0 };

	if (at > d->n)
		return GS_EINVAL;
	if (grow(d) < 0)
		return GS_ENOMEM;
	m.role = role;
	m.role_name = gs_strndup(role_name, strlen(role_name));
	if (!m.role_name)
		return GS_ENOMEM;
	m.kind = GS__CONTENT_STRING;
	m.dirty = 1;
	if (gs__msg_add_text(&m, s, len, NULL) < 0) {
		gs_free(m.role_name);
		return GS_ENOMEM;
	}
	memmove(&d->msgs[at + 1], &d->msgs[at], (d->n - at) * sizeof m);
	d->msgs[at] = m;
	d->n++;
	d->reordered = 1;
	return GS_OK;
}

void gs__doc_remove(struct gs__doc *d, size_t at)
{
	if (at >= d->n)
		return;
	msg_free(&d->msgs[at]);
	memmove(&d->msgs[at], &d->msgs[at + 1],
		(d->n - at - 1) * sizeof *d->msgs);
	d->n--;
	d->reordered = 1;
}

int gs__msg_add_text(struct gs__msg *m, const char *s, size_t len,
		     struct cJSON *node)
{
	/* The copy first: callers building a message of their own (see
	 * gs__msg_set_text) free its parts only when this succeeded. */
	char *copy = gs_strndup(s, len);
	struct gs__text *p = copy ? gs_realloc(m->parts, (m->nparts + 1) *
					       sizeof *p) : NULL;

	if (!p) {
		gs_free(copy);
		return GS_ENOMEM;
	}
	m->parts = p;
	p = &p[m->nparts];
	p->s = copy;
	p->len = len;
	p->node = node;
	p->dirty = 0;
	m->nparts++;
	return GS_OK;
}

int gs__msg_set_text(struct gs__msg *m, const char *s, size_t len)
{
	struct gs__msg tmp = { 0 };

	if (gs__msg_add_text(&tmp, s, len, NULL) < 0)
		return GS_ENOMEM;
	msg_clear_parts(m);
	m->parts = tmp.parts;
	m->nparts = 1;
	m->kind = GS__CONTENT_STRING;
	m->dirty = 1;
	return GS_OK;
}

char *gs__msg_join(const struct gs__msg *m, size_t *len)
{
	gs_buf b = GS_BUF_INIT;

	*len = 0;
	if (!m->nparts)
		return NULL;
	for (size_t i = 0; i < m->nparts; i++)
		if (gs_buf_append(&b, m->parts[i].s, m->parts[i].len) < 0) {
			gs_buf_free(&b);
			return NULL;
		}
	return gs_buf_steal(&b, len);
}
