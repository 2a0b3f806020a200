/* SPDX-License-Identifier: MIT */
/*
 * length-limit - caps the size of the texts a request carries.
 *
 *   max = 4000             limit, in `unit`s
 *   unit = chars | bytes   chars are Unicode code points
 *   scope = message | total   per text, or over all the filter's texts
 *   max_messages = 0       most messages a request may carry (0: any)
 *   action = truncate | reject
 *
 * Truncation never splits a UTF-8 sequence.  With scope = total the
 * budget is spent in document order: later texts are cut first to what
 * remains, then emptied.
 */
#include <guardstack/plugin.h>
#include <string.h>

enum { UNIT_CHARS, UNIT_BYTES };
enum { SCOPE_MESSAGE, SCOPE_TOTAL };
enum { ACT_TRUNCATE, ACT_REJECT };

struct ll {
	long max;
	int unit, scope, action;
	long max_messages;
};

static int ll_create(gs_config *cfg, void **out)
{
	static const char *const units[] = { "chars", "bytes", NULL };
	static const char *const scopes[] = { "message", "total", NULL };
	static const char *const acts[] = { "truncate", "reject", NULL };
	struct ll *ll = gs_calloc(1, sizeof *ll);
	int rc;

	if (!ll)
		return GS_ENOMEM;
	if ((rc = gs_config_long(cfg, "max", 0, 1L << 40, 4000, &ll->max)) < 0 ||
	    (rc = gs_config_enum(cfg, "unit", units, UNIT_CHARS,
				 &ll->unit)) < 0 ||
	    (rc = gs_config_enum(cfg, "scope", scopes, SCOPE_MESSAGE,
				 &ll->scope)) < 0 ||
	    (rc = gs_config_enum(cfg, "action", acts, ACT_TRUNCATE,
				 &ll->action)) < 0 ||
	    (rc = gs_config_long(cfg, "max_messages", 0, 1L << 30, 0,
				 &ll->max_messages)) < 0) {
		gs_free(ll);
		return rc;
	}
	*out = ll;
	return GS_OK;
}

static void ll_destroy(void *inst)
{
	gs_free(inst);
}

/* Byte length of the longest prefix of s within `budget` units. */
static size_t prefix_len(const struct ll *ll, const char *s, size_t len,
			 size_t budget, size_t *used)
{
	size_t i, n = 0;

	if (ll->unit == UNIT_BYTES) {
		i = gs_utf8_floor(s, len, budget);
		*used = i;
		return i;
	}
	/* Most texts are within the limit: the core's counter (32 bytes a
	 * step) says so without the byte loop below. */
	n = gs_utf8_count(s, len);
	if (n <= budget) {
		*used = n;
		return len;
	}
	n = 0;
	for (i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80) {
			if (n == budget)
				break;
			n++;
		}
	}
	*used = n;
	return i;
}

static gs_result ll_request(void *inst, gs_ctx *ctx)
{
	const struct ll *ll = inst;
	size_t n = gs_text_count(ctx), budget = (size_t)ll->max;
	unsigned long cut = 0;

	if (ll->max_messages && gs_msg_count(ctx) > (size_t)ll->max_messages) {
		gs_reject(ctx, "request has %zu messages, more than the %ld "
			  "allowed", gs_msg_count(ctx), ll->max_messages);
		return GS_RESULT_REJECT;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len, used, keep;
		const char *s = gs_text_get(ctx, i, &len);

		if (ll->scope == SCOPE_MESSAGE)
			budget = (size_t)ll->max;
		keep = prefix_len(ll, s, len, budget, &used);
		if (ll->scope == SCOPE_TOTAL)
			budget -= used;
		if (keep == len)
			continue;
		if (ll->action == ACT_REJECT) {
			gs_reject(ctx, "%s text longer than %ld %s",
				  ll->scope == SCOPE_TOTAL ? "total" :
				  "message", ll->max,
				  ll->unit == UNIT_BYTES ? "bytes" : "chars");
			return GS_RESULT_REJECT;
		}
		if (gs_text_replace(ctx, i, s, keep) < 0)
			return GS_RESULT_ERROR;
		cut++;
	}
	gs_count(ctx, cut);
	return GS_RESULT_OK;
}

GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
	GS_PLUGIN_HEADER,
	.name = "length-limit",
	.description = "caps text length per message or in total, and the "
		       "number of messages",
	.version = "1",
	.phases = GS_PHASE_REQUEST,
	.flags = GS_PLUGIN_MODIFIES,
	.count_unit = "truncations",
	.create = ll_create,
	.request = ll_request,
	.destroy = ll_destroy,
};
