/* SPDX-License-Identifier: MIT */
/*
 * gs-debug - a test plugin whose verdict comes from its settings, as
 * Linux-PAM's pam_debug.so: it lets the tests drive every control-flag
 * rule with one small stack file each.
 *
 *   request = ok | ignore | reject | error     result in the request phase
 *   response = ok | ignore | reject | error    result in the response phase
 *   append = TEXT      appends TEXT to every text it sees (on ok)
 *   reason = TEXT      reason given with reject or error (\xHH in it is
 *                      the byte HH: a stack file holds only UTF-8, and
 *                      the logger must cope with a plugin's bad bytes)
 *   mark = yes         appends the instance name, to show run order
 *   bad_replace = yes  replaces text with invalid UTF-8 (must fail)
 *   data = yes         passes a value from request to response phase
 *   insert = TEXT      request phase: inserts a system message TEXT first
 *   set_text = TEXT    request phase: sets the last message's text
 */
#include <guardstack/plugin.h>
#include <string.h>

struct dbg {
	int res[3];
	const char *append_s, *insert_s, *set_text_s;
	char *append, *insert, *set_text;
	char *reason;
	char *name;
	int mark, bad_replace, data;
};

static const char *const results[] = { "ok", "ignore", "reject", "error",
				       NULL };

static char *dup(const char *s)
{
	return s ? gs_strndup(s, strlen(s)) : NULL;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A copy of s with each \xHH (two hex digits) made the byte HH. */
static char *unhex(const char *s)
{
	char *d = dup(s), *o = d;

	for (; d && *s; s++) {
		if (s[0] == '\\' && s[1] == 'x' && hexval(s[2]) >= 0 &&
		    hexval(s[3]) >= 0) {
			*o++ = (char)(hexval(s[2]) << 4 | hexval(s[3]));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	if (d)
		*o = '\0';
	return d;
}

static void dbg_destroy(void *inst)
{
	struct dbg *d = inst;

	gs_free(d->append);
	gs_free(d->insert);
	gs_free(d->set_text);
	gs_free(d->reason);
	gs_free(d->name);
	gs_free(d);
}

static int dbg_create(gs_config *cfg, void **out)
{
	struct dbg *d = gs_calloc(1, sizeof *d);
	const char *reason;
	int rc;

	if (!d)
		return GS_ENOMEM;
	if ((rc = gs_config_enum(cfg, "request", results, 0,
				 &d->res[GS_PHASE_REQUEST])) < 0 ||
	    (rc = gs_config_enum(cfg, "response", results, 0,
				 &d->res[GS_PHASE_RESPONSE])) < 0 ||
	    (rc = gs_config_str(cfg, "append", NULL, &d->append_s)) < 0 ||
	    (rc = gs_config_str(cfg, "insert", NULL, &d->insert_s)) < 0 ||
	    (rc = gs_config_str(cfg, "set_text", NULL, &d->set_text_s)) < 0 ||
	    (rc = gs_config_str(cfg, "reason", NULL, &reason)) < 0 ||
	    (rc = gs_config_bool(cfg, "mark", 0, &d->mark)) < 0 ||
	    (rc = gs_config_bool(cfg, "bad_replace", 0, &d->bad_replace)) < 0 ||
	    (rc = gs_config_bool(cfg, "data", 0, &d->data)) < 0) {
		dbg_destroy(d);
		return rc;
	}
	d->append = dup(d->append_s);
	d->insert = dup(d->insert_s);
	d->set_text = dup(d->set_text_s);
	d->reason = unhex(reason);
	d->name = dup(gs_config_instance(cfg));
	/* A setting lost to a failed allocation would change the verdict. */
	if ((d->append_s && !d->append) || (reason && !d->reason) ||
	    (d->insert_s && !d->insert) || (d->set_text_s && !d->set_text) ||
	    !d->name) {
		dbg_destroy(d);
		return GS_ENOMEM;
	}
	*out = d;
	return GS_OK;
}

static gs_result run(struct dbg *d, gs_ctx *ctx)
{
	int r = d->res[gs_ctx_phase(ctx)];
	size_t n = gs_text_count(ctx);

	if (d->data) {
		if (gs_ctx_phase(ctx) == GS_PHASE_REQUEST) {
			gs_ctx_set_data(ctx, dup("carried"), gs_free);
		} else if (!gs_ctx_get_data(ctx) ||
			   strcmp(gs_ctx_get_data(ctx), "carried")) {
			gs_reject(ctx, "per-call data lost");
			return GS_RESULT_ERROR;
		}
	}
	if (r == 2 || r == 3) {
		if (d->reason)
			gs_reject(ctx, "%s", d->reason);
		return r == 2 ? GS_RESULT_REJECT : GS_RESULT_ERROR;
	}
	if (r == 1)
		return GS_RESULT_IGNORE;
	if (gs_ctx_phase(ctx) == GS_PHASE_REQUEST && d->insert &&
	    gs_msg_insert(ctx, 0, "system", d->insert, strlen(d->insert)) < 0)
		return GS_RESULT_ERROR;
	if (gs_ctx_phase(ctx) == GS_PHASE_REQUEST && d->set_text &&
	    gs_msg_count(ctx) &&
	    gs_msg_set_text(ctx, gs_msg_count(ctx) - 1, d->set_text,
			    strlen(d->set_text)) < 0)
		return GS_RESULT_ERROR;
	n = gs_text_count(ctx); /* the edits above may change it */
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *s = gs_text_get(ctx, i, &len);
		gs_buf b = GS_BUF_INIT;

		if (d->bad_replace) {
			if (gs_text_replace(ctx, i, "\xff", 1) < 0)
				return GS_RESULT_ERROR;
			continue;
		}
		if (!d->append && !d->mark)
			continue;
		if (gs_buf_append(&b, s, len) < 0 ||
		    (d->append && gs_buf_puts(&b, d->append) < 0) ||
		    (d->mark && gs_buf_printf(&b, "[%s]", d->name) < 0) ||
		    gs_text_replace_buf(ctx, i, &b) < 0) {
			gs_buf_free(&b);
			return GS_RESULT_ERROR;
		}
		gs_buf_free(&b);
		gs_count(ctx, 1);
	}
	return GS_RESULT_OK;
}

static gs_result dbg_request(void *inst, gs_ctx *ctx)
{
	return run(inst, ctx);
}

static gs_result dbg_response(void *inst, gs_ctx *ctx)
{
	return run(inst, ctx);
}

GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
	GS_PLUGIN_HEADER,
	.name = "gs-debug",
	.description = "test plugin: verdict from its settings",
	.phases = GS_PHASE_REQUEST | GS_PHASE_RESPONSE,
	.flags = GS_PLUGIN_MODIFIES,
	.count_unit = "edits",
	.create = dbg_create,
	.request = dbg_request,
	.response = dbg_response,
	.destroy = dbg_destroy,
};
