/* SPDX-License-Identifier: MIT */
/*
 * json.c - Mistral chat-completions JSON in and out, with cJSON.
 *
 * cJSON neither validates UTF-8 nor keeps "\u0000" (it ends the C string
 * there, silently shortening the text), so the raw body is checked first
 * and such input is refused with the byte offset.  Unknown fields are kept
 * in the tree and come back out unchanged.
 */
#include "internal.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static int prescan(const char *js, size_t len, size_t max, const char *what,
		   char **err);

int gs__check_text(const char *s, size_t len, const char *where, char **err)
{
	size_t bad = gs_utf8_check(s, len);
	const char *nul;

	if (bad < len)
		return gs__err(err, GS_EINPUT, "%s: invalid UTF-8 at byte %zu",
			       where, bad);
	nul = memchr(s, '\0', len);
	if (nul)
		return gs__err(err, GS_EINPUT, "%s: NUL byte at offset %zu; "
			       "text may not contain NUL", where,
			       (size_t)(nul - s));
	return GS_OK;
}

int gs_json_check(const char *json, size_t len, size_t max_bytes,
		  char **errmsg)
{
	if (errmsg)
		*errmsg = NULL;
	return prescan(json, len, max_bytes, "input", errmsg);
}

/* Raw body checks cJSON does not do. */
static int prescan(const char *js, size_t len, size_t max, const char *what,
		   char **err)
{
	int in_str = 0;

	if (max == 0)
		max = GS_MAX_BODY_DEFAULT;
	if (len > max)
		return gs__err(err, GS_EINPUT, "%s body is %zu bytes, over "
			       "the limit of %zu", what, len, max);
	if (gs__check_text(js, len, what, err) < 0)
		return GS_EINPUT;
	for (size_t i = 0; i < len; i++) {
		char c = js[i];

		if (!in_str) {
			in_str = c == '"';
			continue;
		}
		if (c == '"') {
			in_str = 0;
		} else if (c == '\\' && i + 1 < len) {
			if (js[i + 1] == 'u' && i + 5 < len &&
			    !memcmp(js + i + 2, "0000", 4))
				return gs__err(err, GS_EINPUT, "%s: NUL "
					       "character (\\u0000) in a "
					       "string at byte %zu; text may "
					       "not contain NUL", what, i);
			i++;
		}
	}
	return GS_OK;
}

static cJSON *parse(const char *js, size_t len, const char *what,
		    char **err)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(js, len, &end, 0);
	size_t off;

	if (!root) {
		off = end && end >= js ? (size_t)(end - js) : 0;
		gs__err(err, GS_EINPUT, "%s: invalid JSON at byte %zu%s", what,
			off, len == 0 ? " (empty input)" : "");
		return NULL;
	}
	off = (size_t)(end - js);
	while (off < len && strchr(" \t\r\n", js[off]))
		off++;
	if (off < len) {
		cJSON_Delete(root);
		gs__err(err, GS_EINPUT, "%s: unexpected data after the JSON "
			"value at byte %zu", what, off);
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		gs__err(err, GS_EINPUT, "%s: expected a JSON object", what);
		return NULL;
	}
	return root;
}

static const char *type_name(const cJSON *j)
{
	if (cJSON_IsString(j)) return "a string";
	if (cJSON_IsNumber(j)) return "a number";
	if (cJSON_IsArray(j)) return "an array";
	if (cJSON_IsObject(j)) return "an object";
	if (cJSON_IsBool(j)) return "a boolean";
	if (cJSON_IsNull(j)) return "null";
	return "invalid";
}

/* Reads a message's content (string, chunk array, null) into m. */
static int read_content(struct gs__msg *m, cJSON *obj, const char *where,
			char **err)
{
	cJSON *c = cJSON_GetObjectItemCaseSensitive(obj, "content");
	char path[96];
	int i = 0;
	cJSON *chunk;

	if (!c || cJSON_IsNull(c)) {
		m->kind = GS__CONTENT_NONE;
		if (m->role != GS__ROLE_ASSISTANT)
			return gs__err(err, GS_EINPUT, "%s.content: missing; "
				       "only assistant messages may omit it",
				       where);
		return GS_OK;
	}
	if (cJSON_IsString(c)) {
		m->kind = GS__CONTENT_STRING;
		size_t n = strlen(c->valuestring);
		snprintf(path, sizeof path, "%s.content", where);
		if (gs__check_text(c->valuestring, n, path, err) < 0)
			return GS_EINPUT;
		return gs__msg_add_text(m, c->valuestring, n, NULL) < 0
			       ? gs__err(err, GS_ENOMEM, "out of memory")
			       : GS_OK;
	}
	if (!cJSON_IsArray(c))
		return gs__err(err, GS_EINPUT, "%s.content: expected a string, "
			       "an array of chunks or null, got %s", where,
			       type_name(c));
	m->kind = GS__CONTENT_CHUNKS;
	cJSON_ArrayForEach(chunk, c) {
		cJSON *t, *x;

		snprintf(path, sizeof path, "%s.content[%d]", where, i++);
		if (!cJSON_IsObject(chunk))
			return gs__err(err, GS_EINPUT, "%s: expected an "
				       "object, got %s", path,
				       type_name(chunk));
		t = cJSON_GetObjectItemCaseSensitive(chunk, "type");
		if (!cJSON_IsString(t))
			return gs__err(err, GS_EINPUT, "%s.type: missing or "
				       "not a string", path);
		if (strcmp(t->valuestring, "text"))
			continue; /* images, documents: passed through */
		x = cJSON_GetObjectItemCaseSensitive(chunk, "text");
		if (!cJSON_IsString(x))
			return gs__err(err, GS_EINPUT, "%s.text: missing or "
				       "not a string", path);
		size_t n = strlen(x->valuestring);
		char tp[112];
		snprintf(tp, sizeof tp, "%s.text", path);
		if (gs__check_text(x->valuestring, n, tp, err) < 0)
			return GS_EINPUT;
		if (gs__msg_add_text(m, x->valuestring, n, chunk) < 0)
			return gs__err(err, GS_ENOMEM, "out of memory");
	}
	return GS_OK;
}

static int read_message(struct gs__doc *d, cJSON *obj, const char *where,
			int borrowed, int is_answer, char **err)
{
	cJSON *role;
	struct gs__msg *m;
	unsigned bit;
	const char *rname;

	int rc = GS_OK;

	role = cJSON_GetObjectItemCaseSensitive(obj, "role");
	rname = role && cJSON_IsString(role) ? role->valuestring
		: !role && is_answer ? "assistant" : NULL;
	bit = rname ? gs__role_bit(rname) : 0;
	if (!cJSON_IsObject(obj))
		rc = gs__err(err, GS_EINPUT, "%s: expected an object, got %s",
			     where, type_name(obj));
	else if (!rname)
		rc = gs__err(err, GS_EINPUT, "%s.role: %s", where,
			     role ? "not a string" : "missing");
	else if (!bit)
		rc = gs__err(err, GS_EINPUT, "%s.role: '%.40s' is not a role "
			     "(system, developer, user, assistant, tool)",
			     where, rname);
	else if (is_answer && bit != GS__ROLE_ASSISTANT)
		rc = gs__err(err, GS_EINPUT, "%s.role: the answer's role is "
			     "'%s', expected assistant", where, rname);
	else if (!(m = gs__doc_add(d, bit, rname)))
		rc = gs__err(err, GS_ENOMEM, "out of memory");
	if (rc < 0) {
		/* Detached request messages are ours until a msg owns them. */
		if (!borrowed)
			cJSON_Delete(obj);
		return rc;
	}
	m->obj = obj;
	m->borrowed = borrowed;
	return read_content(m, obj, where, err);
}

int gs__parse_request(struct gs__doc *d, const char *js, size_t len,
		      size_t max, char **err)
{
	cJSON *root, *msgs, *model, *item;
	char where[48];
	int rc = GS_OK, i = 0;

	if (prescan(js, len, max, "request", err) < 0)
		return GS_EINPUT;
	root = parse(js, len, "request", err);
	if (!root)
		return GS_EINPUT;
	d->root = root;
	model = cJSON_GetObjectItemCaseSensitive(root, "model");
	if (model && !cJSON_IsString(model))
		return gs__err(err, GS_EINPUT, "request.model: expected a "
			       "string, got %s", type_name(model));
	if (model && !(d->model = gs_strndup(model->valuestring,
					     strlen(model->valuestring))))
		return gs__err(err, GS_ENOMEM, "out of memory");
	msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
	if (!msgs)
		return gs__err(err, GS_EINPUT, "request.messages: missing");
	if (!cJSON_IsArray(msgs))
		return gs__err(err, GS_EINPUT, "request.messages: expected an "
			       "array, got %s", type_name(msgs));
	if (!cJSON_GetArraySize(msgs))
		return gs__err(err, GS_EINPUT, "request.messages: empty");
	/* Messages leave the tree so filters can insert and remove them;
	 * they go back in order when the request is written out. */
	cJSON_DetachItemViaPointer(root, msgs);
	while (rc >= 0 && (item = msgs->child)) {
		cJSON_DetachItemViaPointer(msgs, item);
		snprintf(where, sizeof where, "messages[%d]", i++);
		rc = read_message(d, item, where, 0, 0, err);
	}
	cJSON_Delete(msgs);
	d->set = rc >= 0;
	return rc;
}

static long num(cJSON *o, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) && v->valuedouble >= 0 ? (long)v->valuedouble
							: -1;
}

int gs__parse_response(struct gs__doc *d, const char *js, size_t len,
		       size_t max, char **err)
{
	cJSON *root, *choices, *ch, *usage, *model;
	char where[48];
	int rc = GS_OK, i = 0;

	if (prescan(js, len, max, "response", err) < 0)
		return GS_EINPUT;
	root = parse(js, len, "response", err);
	if (!root)
		return GS_EINPUT;
	d->root = root;
	choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	if (!cJSON_IsArray(choices))
		return gs__err(err, GS_EINPUT, "response.choices: %s",
			       choices ? "expected an array" : "missing");
	if (!cJSON_GetArraySize(choices))
		return gs__err(err, GS_EINPUT, "response.choices: empty");
	cJSON_ArrayForEach(ch, choices) {
		cJSON *msg, *fr;

		snprintf(where, sizeof where, "choices[%d]", i);
		if (!cJSON_IsObject(ch))
			return gs__err(err, GS_EINPUT, "%s: expected an "
				       "object, got %s", where, type_name(ch));
		msg = cJSON_GetObjectItemCaseSensitive(ch, "message");
		snprintf(where, sizeof where, "choices[%d].message", i++);
		if (!msg)
			return gs__err(err, GS_EINPUT, "%s: missing", where);
		rc = read_message(d, msg, where, 1, 1, err);
		if (rc < 0)
			return rc;
		fr = cJSON_GetObjectItemCaseSensitive(ch, "finish_reason");
		if (!d->finish_reason && cJSON_IsString(fr) &&
		    !(d->finish_reason = gs_strndup(fr->valuestring,
						    strlen(fr->valuestring))))
			return gs__err(err, GS_ENOMEM, "out of memory");
	}
	usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
	if (usage && !cJSON_IsObject(usage) && !cJSON_IsNull(usage))
		return gs__err(err, GS_EINPUT, "response.usage: expected an "
			       "object, got %s", type_name(usage));
	if (cJSON_IsObject(usage)) {
		d->usage[0] = num(usage, "prompt_tokens");
		d->usage[1] = num(usage, "completion_tokens");
		d->usage[2] = num(usage, "total_tokens");
	}
	model = cJSON_GetObjectItemCaseSensitive(root, "model");
	if (cJSON_IsString(model) &&
	    !(d->model = gs_strndup(model->valuestring,
				    strlen(model->valuestring))))
		return gs__err(err, GS_ENOMEM, "out of memory");
	d->set = 1;
	return GS_OK;
}

/* Writes m's texts back into its JSON object (creating it if needed). */
static int write_back(struct gs__msg *m)
{
	cJSON *s;

	if (!m->obj) {
		m->obj = cJSON_CreateObject();
		if (!m->obj || !cJSON_AddStringToObject(m->obj, "role",
							m->role_name))
			return GS_ENOMEM;
		m->dirty = 1;
	}
	if (m->dirty) {
		if (m->nparts == 0) {
			s = cJSON_CreateNull();
		} else {
			size_t n;
			char *j = gs__msg_join(m, &n);
			s = j ? cJSON_CreateString(j) : NULL;
			gs_free(j);
		}
		if (!s)
			return GS_ENOMEM;
		if (cJSON_GetObjectItemCaseSensitive(m->obj, "content"))
			cJSON_ReplaceItemInObjectCaseSensitive(m->obj,
							       "content", s);
		else
			cJSON_AddItemToObject(m->obj, "content", s);
		for (size_t i = 0; i < m->nparts; i++)
			m->parts[i].node = NULL, m->parts[i].dirty = 0;
		m->dirty = 0;
		return GS_OK;
	}
	for (size_t i = 0; i < m->nparts; i++) {
		struct gs__text *t = &m->parts[i];

		if (!t->dirty)
			continue;
		s = cJSON_CreateString(t->s);
		if (!s)
			return GS_ENOMEM;
		cJSON_ReplaceItemInObjectCaseSensitive(t->node ? t->node
							       : m->obj,
						       t->node ? "text"
							       : "content", s);
		t->dirty = 0;
	}
	return GS_OK;
}

char *gs__emit_request(struct gs__doc *d)
{
	cJSON *arr, *ref;
	char *out = NULL;

	if (!d->root) {
		d->root = cJSON_CreateObject();
		if (!d->root)
			return NULL;
		if (d->model && !cJSON_AddStringToObject(d->root, "model",
							 d->model))
			return NULL;
	}
	arr = cJSON_CreateArray();
	if (!arr)
		return NULL;
	for (size_t i = 0; i < d->n; i++) {
		if (write_back(&d->msgs[i]) < 0 ||
		    !(ref = cJSON_CreateObjectReference(
			      d->msgs[i].obj->child))) {
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddItemToArray(arr, ref);
	}
	cJSON_AddItemToObject(d->root, "messages", arr);
	out = cJSON_PrintUnformatted(d->root);
	cJSON_DetachItemViaPointer(d->root, arr);
	cJSON_Delete(arr); /* references only: the messages stay */
	return out;
}

char *gs__emit_response(struct gs__doc *d)
{
	if (!d->root) {
		/* Built from a bare answer: a minimal completion object. */
		cJSON *choices, *ch;

		d->root = cJSON_CreateObject();
		if (!d->root || !cJSON_AddStringToObject(d->root, "object",
							 "chat.completion"))
			return NULL;
		choices = cJSON_AddArrayToObject(d->root, "choices");
		for (size_t i = 0; choices && i < d->n; i++) {
			ch = cJSON_CreateObject();
			if (!ch)
				return NULL;
			cJSON_AddItemToArray(choices, ch);
			cJSON_AddNumberToObject(ch, "index", (double)i);
			if (write_back(&d->msgs[i]) < 0)
				return NULL;
			cJSON_AddItemToObject(ch, "message", d->msgs[i].obj);
			d->msgs[i].borrowed = 1;
		}
		if (!choices)
			return NULL;
	}
	for (size_t i = 0; i < d->n; i++)
		if (write_back(&d->msgs[i]) < 0)
			return NULL;
	return cJSON_PrintUnformatted(d->root);
}
