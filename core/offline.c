/* SPDX-License-Identifier: MIT */
/*
 * offline.c - the `url = offline` backend: an upstream that needs no key
 * and no network, so stacks and response filters can be tried locally.
 *
 * Its answer is deterministic: either the stack's reply_file, or a
 * transcript of the filtered request, one "[role] text" line per message,
 * which shows what a model would have received.  System and developer
 * messages are shown by size only: an answer that repeats the
 * instructions is what a prompt leak looks like, and the response phase
 * (leak-redact) would rightly refuse it.  The answer is shaped as a chat
 * completion (with zero usage: no tokens were spent) and goes through the
 * same parser as a real one.
 */
#include "upstream.h"
#include <cjson/cJSON.h>
#include <string.h>

static int transcript(const gs_call *c, const char *model, gs_buf *b)
{
	const struct gs__doc *d = &c->req;

	if (gs_buf_printf(b, "offline: no model was called; %s would have "
			  "received:", model) < 0)
		return GS_ENOMEM;
	for (size_t i = 0; i < d->n; i++) {
		size_t len;
		char *t = gs__msg_join(&d->msgs[i], &len);
		int rc = gs_buf_printf(b, "\n[%s] ", d->msgs[i].role_name);
		unsigned role = d->msgs[i].role;

		if (rc >= 0 && !t)
			rc = gs_buf_puts(b, "(no text)");
		else if (rc >= 0 && (role == GS__ROLE_SYSTEM ||
				     role == GS__ROLE_DEVELOPER))
			rc = gs_buf_printf(b, "(%zu characters, not shown)",
					   gs_utf8_count(t, len));
		else if (rc >= 0)
			rc = gs_buf_append(b, t, len);
		gs_free(t);
		if (rc < 0)
			return GS_ENOMEM;
	}
	return GS_OK;
}

int gs__offline_answer(gs_call *c, const struct gs__up *up, char **err)
{
	const char *model = c->req.model ? c->req.model : up->model;
	gs_buf text = GS_BUF_INIT;
	cJSON *root = NULL, *choices, *ch, *msg, *usage;
	char *js = NULL;
	int rc = GS_ENOMEM;

	if (up->reply ? gs_buf_append(&text, up->reply, up->reply_len) < 0
		      : transcript(c, model, &text) < 0)
		goto out;
	if (gs_buf_reserve(&text, 0) < 0)
		goto out;
	/* Fixed id and time: the same request gives the same bytes. */
	root = cJSON_CreateObject();
	if (!root || !cJSON_AddStringToObject(root, "id", "offline") ||
	    !cJSON_AddStringToObject(root, "object", "chat.completion") ||
	    !cJSON_AddNumberToObject(root, "created", 0) ||
	    !cJSON_AddStringToObject(root, "model", model) ||
	    !(choices = cJSON_AddArrayToObject(root, "choices")) ||
	    !(ch = cJSON_CreateObject()))
		goto out;
	cJSON_AddItemToArray(choices, ch);
	if (!cJSON_AddNumberToObject(ch, "index", 0) ||
	    !(msg = cJSON_AddObjectToObject(ch, "message")) ||
	    !cJSON_AddStringToObject(msg, "role", "assistant") ||
	    !cJSON_AddStringToObject(msg, "content", text.data) ||
	    !cJSON_AddStringToObject(ch, "finish_reason", "stop") ||
	    !(usage = cJSON_AddObjectToObject(root, "usage")) ||
	    !cJSON_AddNumberToObject(usage, "prompt_tokens", 0) ||
	    !cJSON_AddNumberToObject(usage, "completion_tokens", 0) ||
	    !cJSON_AddNumberToObject(usage, "total_tokens", 0) ||
	    !(js = cJSON_PrintUnformatted(root)))
		goto out;
	rc = gs_call_set_response_json(c, js, strlen(js), 0, err);
out:
	if (rc == GS_ENOMEM)
		gs__err(err, rc, "out of memory");
	gs_free(js);
	cJSON_Delete(root);
	gs_buf_free(&text);
	return rc;
}
