/* SPDX-License-Identifier: MIT */
/*
 * shout - the smallest useful guardstack plugin: upper-cases ASCII letters
 * in the user's text.  Build it out of tree:
 *
 *     cc -shared -fPIC -o shout.so shout.c \
 *        $(pkg-config --cflags --libs guardstack)
 *
 * and name it in a stack:  [shout]  module = /path/to/shout.so
 */
#include <guardstack/plugin.h>

static gs_result shout_request(void *instance, gs_ctx *ctx)
{
	(void)instance;
	for (size_t i = 0; i < gs_text_count(ctx); i++) {
		size_t len, changed = 0;
		const char *s = gs_text_get(ctx, i, &len);
		gs_buf b = GS_BUF_INIT;

		if (gs_buf_append(&b, s, len) < 0)
			return GS_RESULT_ERROR; /* fails closed */
		for (size_t k = 0; k < len; k++)
			if (b.data[k] >= 'a' && b.data[k] <= 'z') {
				b.data[k] -= 'a' - 'A';
				changed++;
			}
		if (changed && gs_text_replace_buf(ctx, i, &b) < 0) {
			gs_buf_free(&b);
			return GS_RESULT_ERROR;
		}
		gs_buf_free(&b);
		gs_count(ctx, changed);
	}
	return GS_RESULT_OK;
}

GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
	GS_PLUGIN_HEADER,
	.name = "shout",
	.description = "upper-cases the user's text (example plugin)",
	.phases = GS_PHASE_REQUEST,
	.flags = GS_PLUGIN_MODIFIES,
	.count_unit = "letters",
	.request = shout_request,
};
