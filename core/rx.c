/* SPDX-License-Identifier: MIT */
/*
 * rx.c - PCRE2 for plugins: compile once with JIT at load, match with a
 * per-call match data block (no allocation per match) under a match limit,
 * so no pattern can be made to backtrack for long on hostile text.
 */
#include "internal.h"
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

/* Bounds the work one gs_rx_find may do: ample for real patterns on
 * megabytes of text, small enough that catastrophic backtracking ends in
 * milliseconds with GS_ELIMIT instead of hanging a request. */
#define GS__RX_MATCH_LIMIT 5000000u
#define GS__RX_DEPTH_LIMIT 10000u

/* PCRE2 allocates through gs_alloc too (fault injection sees it).  The
 * general context only holds the two function pointers; alloc.c creates
 * it once when the library loads and it is read-only afterwards.  NULL
 * (PCRE2's own malloc) if that failed. */
static pcre2_general_context *gctx;

static void *rx_malloc(PCRE2_SIZE n, void *data)
{
	(void)data;
	return gs_alloc(n);
}

static void rx_free(void *p, void *data)
{
	(void)data;
	gs_free(p);
}

void gs__rx_init(void)
{
	gctx = pcre2_general_context_create(rx_malloc, rx_free, NULL);
}

void gs__rx_fini(void)
{
	pcre2_general_context_free(gctx);
	gctx = NULL;
}

struct gs_rx {
	pcre2_code *code;
	pcre2_match_context *mctx;
	unsigned groups;
	int jit;
};

int gs_rx_compile(gs_rx **out, const char *pattern, unsigned flags,
		  char *err, size_t errlen)
{
	uint32_t opts = PCRE2_UTF | PCRE2_NO_UTF_CHECK;
	int ec;
	PCRE2_SIZE eo;
	pcre2_compile_context *cctx;
	gs_rx *rx;

	*out = NULL;
	if (flags & GS_RX_CASELESS)
		opts |= PCRE2_CASELESS | PCRE2_UCP;
	if (flags & GS_RX_MULTILINE)
		opts |= PCRE2_MULTILINE;
	if (flags & GS_RX_DOTALL)
		opts |= PCRE2_DOTALL;
	if (flags & GS_RX_EXTENDED)
		opts |= PCRE2_EXTENDED;
	if (flags & GS_RX_UCP)
		opts |= PCRE2_UCP;
	if (gs_utf8_check(pattern, strlen(pattern)) != strlen(pattern)) {
		if (err && errlen)
			snprintf(err, errlen, "pattern is not valid UTF-8");
		return GS_EINVAL;
	}
	rx = gs_calloc(1, sizeof *rx);
	if (!rx)
		return GS_ENOMEM;
	cctx = pcre2_compile_context_create(gctx);
	if (!cctx) {
		gs_free(rx);
		return GS_ENOMEM;
	}
	rx->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				 opts, &ec, &eo, cctx);
	pcre2_compile_context_free(cctx);
	if (!rx->code) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(ec, msg, sizeof msg);
		if (err && errlen)
			snprintf(err, errlen, "%s at offset %zu", (char *)msg,
				 (size_t)eo);
		gs_free(rx);
		return ec == PCRE2_ERROR_HEAP_FAILED ? GS_ENOMEM : GS_EINVAL;
	}
	/* JIT code reads whole words past the end of a subject, which
	 * valgrind reports as uninitialised reads; the valgrind pass turns
	 * JIT off with GUARDSTACK_NO_JIT (the ASan pass covers JIT). */
	if (!gs__secure_getenv("GUARDSTACK_NO_JIT"))
		rx->jit = pcre2_jit_compile(rx->code,
					    PCRE2_JIT_COMPLETE) == 0;
	rx->mctx = pcre2_match_context_create(gctx);
	if (!rx->mctx) {
		gs_rx_free(rx);
		return GS_ENOMEM;
	}
	pcre2_set_match_limit(rx->mctx, GS__RX_MATCH_LIMIT);
	pcre2_set_depth_limit(rx->mctx, GS__RX_DEPTH_LIMIT);
	pcre2_pattern_info(rx->code, PCRE2_INFO_CAPTURECOUNT, &rx->groups);
	*out = rx;
	return GS_OK;
}

void gs_rx_free(gs_rx *rx)
{
	if (!rx)
		return;
	pcre2_match_context_free(rx->mctx);
	pcre2_code_free(rx->code);
	gs_free(rx);
}

unsigned gs_rx_groups(const gs_rx *rx)
{
	return rx->groups;
}

void *gs__md_get(gs_call *c)
{
	if (!c->md)
		c->md = pcre2_match_data_create(GS__RX_MAX_GROUPS + 1, gctx);
	return c->md;
}

void gs__md_free(void *md)
{
	pcre2_match_data_free(md);
}

int gs_rx_find(const gs_rx *rx, gs_ctx *ctx, const char *s, size_t len,
	       size_t start, gs_span *groups, unsigned ngroups)
{
	pcre2_match_data *md, *own = NULL;
	PCRE2_SIZE *ov;
	int rc;

	if (start > len)
		return 0;
	md = ctx ? gs__md_get(ctx->call) : NULL;
	if (!md)
		md = own = pcre2_match_data_create(GS__RX_MAX_GROUPS + 1,
						   gctx);
	if (!md)
		return GS_ENOMEM;
	/* Texts are validated once on the way in; no per-match check. */
	rc = pcre2_match(rx->code, (PCRE2_SPTR)s, len, start,
			 PCRE2_NO_UTF_CHECK, md, rx->mctx);
	if (rc == PCRE2_ERROR_NOMATCH) {
		rc = 0;
	} else if (rc == PCRE2_ERROR_MATCHLIMIT ||
		   rc == PCRE2_ERROR_DEPTHLIMIT ||
		   rc == PCRE2_ERROR_HEAPLIMIT ||
		   rc == PCRE2_ERROR_JIT_STACKLIMIT) {
		rc = GS_ELIMIT;
	} else if (rc < 0) {
		rc = rc == PCRE2_ERROR_NOMEMORY ? GS_ENOMEM : GS_EINVAL;
	} else {
		uint32_t n = pcre2_get_ovector_count(md);

		ov = pcre2_get_ovector_pointer(md);
		for (unsigned g = 0; g < ngroups; g++) {
			if (g < n && g <= rx->groups) {
				groups[g].start = ov[2 * g];
				groups[g].end = ov[2 * g + 1];
			} else {
				groups[g].start = groups[g].end = (size_t)-1;
			}
		}
		rc = 1;
	}
	if (own)
		pcre2_match_data_free(own);
	return rc;
}

long gs_rx_replace(const gs_rx *rx, gs_ctx *ctx, const char *s, size_t len,
		   gs_rx_replace_fn fn, void *arg, const char *rep,
		   gs_buf *out)
{
	gs_span g[GS__RX_MAX_GROUPS + 1];
	unsigned ng = rx->groups + 1 <= GS__RX_MAX_GROUPS + 1
			      ? rx->groups + 1 : GS__RX_MAX_GROUPS + 1;
	size_t pos = 0, copied = 0, start0 = out->len;
	long count = 0;
	int rc;

	while (pos <= len) {
		rc = gs_rx_find(rx, ctx, s, len, pos, g, ng);
		if (rc <= 0) {
			if (rc < 0)
				goto fail;
			break;
		}
		size_t mark = out->len;
		/* Text before the match is copied only once something is
		 * replaced: a text without matches costs no copy. */
		if (gs_buf_append(out, s + copied, g[0].start - copied) < 0) {
			rc = GS_ENOMEM;
			goto fail;
		}
		if (fn) {
			rc = fn(arg, s, len, g, ng, out);
			if (rc < 0)
				goto fail;
		} else {
			rc = gs_buf_puts(out, rep ? rep : "") < 0 ? GS_ENOMEM
								  : 1;
			if (rc < 0)
				goto fail;
		}
		if (rc == 0) {
			/* kept: undo the copy, leave the match in place */
			out->len = mark;
			if (out->data)
				out->data[mark] = '\0';
		} else {
			count++;
			copied = g[0].end;
		}
		if (g[0].end > g[0].start) {
			pos = g[0].end;
		} else {
			/* empty match: step over one character */
			pos = g[0].end + 1;
			while (pos < len && ((unsigned char)s[pos] & 0xC0) ==
			       0x80)
				pos++;
		}
	}
	if (count && gs_buf_append(out, s + copied, len - copied) < 0) {
		rc = GS_ENOMEM;
		goto fail;
	}
	return count;
fail:
	out->len = start0;
	if (out->data)
		out->data[start0] = '\0';
	return rc;
}
