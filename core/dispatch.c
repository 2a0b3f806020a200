/* SPDX-License-Identifier: MIT */
/*
 * dispatch.c - runs one phase of a stack, with Linux-PAM's control flags,
 * and the accessors plugins use while they run.
 *
 * As in pam_dispatch.c, each result becomes an action: `required` records
 * a failure and goes on, `requisite` records it and stops, `sufficient`
 * stops with success when nothing failed before, `optional` counts only
 * its success.  The first failure's reason is what the caller sees.  A
 * phase in which every filter abstained is not a pass.
 */
#include "internal.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

static struct gs__doc *phase_doc(gs_call *c, gs_phase p)
{
	return p == GS_PHASE_RESPONSE ? &c->resp : &c->req;
}

/* Collects the (message, part) pairs this filter applies to. */
static int build_view(gs_ctx *ctx)
{
	gs_call *c = ctx->call;
	struct gs__doc *d = phase_doc(c, ctx->phase);
	unsigned roles = ctx->f->roles[ctx->phase];

	c->nview = 0;
	for (size_t m = 0; m < d->n; m++) {
		if (!(d->msgs[m].role & roles))
			continue;
		for (size_t p = 0; p < d->msgs[m].nparts; p++) {
			if (c->nview == c->capview) {
				size_t cap = c->capview ? c->capview * 2 : 8;
				struct gs__ref *v = gs_realloc(c->view,
							cap * sizeof *v);
				if (!v)
					return GS_ENOMEM;
				c->view = v;
				c->capview = cap;
			}
			c->view[c->nview].m = m;
			c->view[c->nview++].p = p;
		}
	}
	return GS_OK;
}

static struct gs__text *text_at(gs_ctx *ctx, size_t i)
{
	gs_call *c = ctx->call;

	if (!ctx->phase || i >= c->nview)
		return NULL;
	return &phase_doc(c, ctx->phase)->msgs[c->view[i].m]
			.parts[c->view[i].p];
}

size_t gs_text_count(gs_ctx *ctx)
{
	return ctx->phase ? ctx->call->nview : 0;
}

const char *gs_text_get(gs_ctx *ctx, size_t i, size_t *len)
{
	struct gs__text *t = text_at(ctx, i);

	if (!t) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = t->len;
	return t->s;
}

const char *gs_text_role(gs_ctx *ctx, size_t i)
{
	if (!text_at(ctx, i))
		return NULL;
	return phase_doc(ctx->call, ctx->phase)->msgs[ctx->call->view[i].m]
		.role_name;
}

size_t gs_text_message(gs_ctx *ctx, size_t i)
{
	if (!text_at(ctx, i))
		return (size_t)-1;
	return ctx->call->view[i].m;
}

static int may_modify(gs_ctx *ctx)
{
	if (!(ctx->f->plugin->flags & GS_PLUGIN_MODIFIES)) {
		gs_reject(ctx, "plugin %s changed content without declaring "
			  "GS_PLUGIN_MODIFIES", ctx->f->plugin->name);
		return 0;
	}
	return 1;
}

int gs_text_replace_buf(gs_ctx *ctx, size_t i, gs_buf *b)
{
	struct gs__text *t = text_at(ctx, i);
	struct gs__msg *m;
	char *s;
	size_t len;

	if (!t || !may_modify(ctx))
		return GS_EINVAL;
	if (b->len && (gs__utf8_check_nul(b->data, b->len, &len) != b->len ||
		       len != b->len)) {
		gs_reject(ctx, "plugin %s produced invalid UTF-8 or a NUL",
			  ctx->f->plugin->name);
		return GS_EINVAL;
	}
	if (b->len == t->len && !memcmp(b->data ? b->data : "", t->s, t->len))
		return GS_OK; /* unchanged: not a modification */
	s = gs_buf_steal(b, &len);
	if (!s)
		return GS_ENOMEM;
	gs_free(t->s);
	t->s = s;
	t->len = len;
	t->dirty = 1;
	ctx->modified = 1;
	m = &phase_doc(ctx->call, ctx->phase)->msgs[ctx->call->view[i].m];
	gs_free(m->joined); /* gs_msg_text's cache is stale now */
	m->joined = NULL;
	return GS_OK;
}

int gs_text_replace(gs_ctx *ctx, size_t i, const char *s, size_t len)
{
	gs_buf b = GS_BUF_INIT;
	int rc;

	if (gs_buf_append(&b, s, len) < 0)
		return GS_ENOMEM;
	rc = gs_text_replace_buf(ctx, i, &b);
	gs_buf_free(&b);
	return rc;
}

gs_result gs_text_rewrite(gs_ctx *ctx, gs_rewrite_fn fn, void *arg)
{
	size_t count = gs_text_count(ctx);
	gs_buf out = GS_BUF_INIT;
	long n = 0;
	int rc = GS_OK;

	for (size_t t = 0; t < count && rc >= 0; t++) {
		size_t len;
		const char *s = gs_text_get(ctx, t, &len);

		gs_buf_reset(&out);
		n = fn(arg, s, len, &out);
		rc = n < 0 ? (int)n : GS_OK;
		if (n > 0 && (rc = gs_text_replace_buf(ctx, t, &out)) >= 0)
			gs_count(ctx, (unsigned long)n);
	}
	gs_buf_free(&out);
	if (rc >= 0)
		return GS_RESULT_OK;
	/* Replacement checks set their own reason; gs_reject keeps it. */
	gs_reject(ctx, "%s", gs_strerror(rc));
	return GS_RESULT_ERROR;
}

size_t gs_msg_count(gs_ctx *ctx)
{
	return ctx->call->req.n;
}

const char *gs_msg_role(gs_ctx *ctx, size_t m)
{
	return m < ctx->call->req.n ? ctx->call->req.msgs[m].role_name : NULL;
}

const char *gs_msg_text(gs_ctx *ctx, size_t mi, size_t *len)
{
	struct gs__msg *m;

	*len = 0;
	if (mi >= ctx->call->req.n)
		return NULL;
	m = &ctx->call->req.msgs[mi];
	if (m->nparts == 0)
		return NULL;
	if (m->nparts == 1) {
		*len = m->parts[0].len;
		return m->parts[0].s;
	}
	if (!m->joined)
		m->joined = gs__msg_join(m, &m->joined_len);
	*len = m->joined ? m->joined_len : 0;
	return m->joined;
}

static int may_edit_messages(gs_ctx *ctx, const char *s, size_t len)
{
	if (ctx->phase != GS_PHASE_REQUEST || !may_modify(ctx))
		return 0;
	if (s && (gs_utf8_check(s, len) != len || memchr(s, '\0', len)))
		return 0;
	return 1;
}

int gs_msg_insert(gs_ctx *ctx, size_t m, const char *role, const char *s,
		  size_t len)
{
	unsigned bit = role ? gs__role_bit(role) : 0;
	int rc;

	if (!bit || !may_edit_messages(ctx, s, len))
		return GS_EINVAL;
	rc = gs__doc_insert(&ctx->call->req, m, bit, role, s, len);
	if (rc == GS_OK) {
		ctx->modified = 1;
		rc = build_view(ctx); /* indices moved */
	}
	return rc;
}

int gs_msg_set_text(gs_ctx *ctx, size_t m, const char *s, size_t len)
{
	int rc;

	if (m >= ctx->call->req.n || !may_edit_messages(ctx, s, len))
		return GS_EINVAL;
	rc = gs__msg_set_text(&ctx->call->req.msgs[m], s, len);
	if (rc == GS_OK) {
		ctx->modified = 1;
		rc = build_view(ctx);
	}
	return rc;
}

int gs_msg_remove(gs_ctx *ctx, size_t m)
{
	if (m >= ctx->call->req.n || !may_edit_messages(ctx, NULL, 0))
		return GS_EINVAL;
	gs__doc_remove(&ctx->call->req, m);
	ctx->modified = 1;
	return build_view(ctx);
}

gs_phase gs_ctx_phase(gs_ctx *ctx)
{
	return ctx->phase;
}

void gs_reject(gs_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->reason_set)
		return; /* the first reason is the one that explains */
	va_start(ap, fmt);
	ctx->reason = gs__vfmt(fmt, ap);
	va_end(ap);
	ctx->reason_set = 1;
}

void gs_count(gs_ctx *ctx, unsigned long n)
{
	ctx->call->reports[ctx->fi].count += n;
}

int gs_ctx_set_data(gs_ctx *ctx, void *data, void (*free_fn)(void *))
{
	struct gs__pdata *pd = &ctx->call->pdata[ctx->fi];

	if (pd->free_fn && pd->data && pd->data != data)
		pd->free_fn(pd->data);
	pd->data = data;
	pd->free_fn = free_fn;
	return GS_OK;
}

void *gs_ctx_get_data(gs_ctx *ctx)
{
	return ctx->call->pdata[ctx->fi].data;
}

/* Records the phase's first failure. */
static void record(gs_call *c, size_t fi, gs_outcome kind, char **reason)
{
	if (c->fail_filter >= 0)
		return;
	c->fail_filter = (int)fi;
	c->outcome = kind;
	c->reason = *reason;
	*reason = NULL;
}

int gs__run_phase(gs_call *c, gs_phase phase)
{
	const gs_stack *st = c->st;
	int success = 0, any = 0, stop = 0, modified = 0;

	for (size_t fi = 0; fi < st->nfilters; fi++) {
		const struct gs__filter *f = &st->filters[fi];
		gs_filter_report *rep = &c->reports[fi];
		gs_ctx ctx = { .call = c, .fi = fi, .f = f, .phase = phase };
		gs_result r;
		int failed;

		if (!(f->phases & phase))
			continue;
		any = 1;
		if (stop) {
			rep->verdict = GS_VERDICT_SKIPPED;
			continue;
		}
		if (build_view(&ctx) < 0) {
			r = GS_RESULT_ERROR;
			gs_reject(&ctx, "out of memory");
		} else {
			r = phase == GS_PHASE_REQUEST
				    ? f->plugin->request(f->instance, &ctx)
				    : f->plugin->response(f->instance, &ctx);
		}
		if (r != GS_RESULT_OK && r != GS_RESULT_IGNORE &&
		    r != GS_RESULT_REJECT)
			r = GS_RESULT_ERROR;
		/* A replace the plugin was not allowed to make. */
		if (r == GS_RESULT_OK && ctx.reason_set)
			r = GS_RESULT_ERROR;
		modified |= ctx.modified;
		switch (r) {
		case GS_RESULT_OK:
			rep->verdict = ctx.modified ? GS_VERDICT_MODIFIED
						    : GS_VERDICT_PASS;
			break;
		case GS_RESULT_IGNORE:
			rep->verdict = GS_VERDICT_IGNORED;
			break;
		case GS_RESULT_REJECT:
			rep->verdict = GS_VERDICT_REJECTED;
			if (!ctx.reason)
				ctx.reason = gs__fmt("rejected by %s",
						     f->name);
			break;
		default:
			rep->verdict = GS_VERDICT_ERROR;
			{
				char *why = gs__fmt("%s failed: %s", f->name,
						    ctx.reason ? ctx.reason
						    : "internal error");
				gs_free(ctx.reason);
				ctx.reason = why;
			}
			if (f->on_error_ignore)
				r = GS_RESULT_IGNORE;
			break;
		}
		failed = r == GS_RESULT_REJECT || r == GS_RESULT_ERROR;
		switch (f->control) {
		case GS__REQUIRED:
		case GS__REQUISITE:
			if (r == GS_RESULT_OK)
				success = 1;
			else if (failed) {
				record(c, fi, r == GS_RESULT_REJECT
					       ? GS_OUTCOME_REJECTED
					       : GS_OUTCOME_ERROR,
				       &ctx.reason);
				stop = f->control == GS__REQUISITE;
			}
			break;
		case GS__SUFFICIENT:
			if (r == GS_RESULT_OK && c->fail_filter < 0) {
				success = 1;
				stop = 1;
			}
			break;
		case GS__OPTIONAL:
			if (r == GS_RESULT_OK)
				success = 1;
			break;
		}
		gs_free(ctx.reason);
	}
	if (c->fail_filter >= 0)
		return c->outcome;
	if (any && !success) {
		c->outcome = GS_OUTCOME_REJECTED;
		c->reason = gs__fmt("no filter in the %s phase accepted the "
				    "content (every one abstained or failed "
				    "without effect)", phase ==
				    GS_PHASE_REQUEST ? "request" :
				    "response");
		return c->outcome;
	}
	if (modified || c->outcome == GS_OUTCOME_MODIFIED)
		c->outcome = GS_OUTCOME_MODIFIED;
	else
		c->outcome = GS_OUTCOME_PASS;
	return c->outcome;
}
