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
#include "jsonout.h"
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int prescan(const char *js, size_t len, size_t max, const char *what,
		   char **err);

int gs__check_text(const char *s, size_t len, const char *where, char **err)
{
	size_t nul, bad = gs__utf8_check_nul(s, len, &nul);

	if (bad < len)
		return gs__err(err, GS_EINPUT, "%s: invalid UTF-8 at byte %zu",
			       where, bad);
	if (nul < len)
		return gs__err(err, GS_EINPUT, "%s: NUL byte at offset %zu; "
			       "text may not contain NUL", where, nul);
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
	/* The loop below can only fail where the six bytes \u0000 stand:
	 * without them (nearly always) memmem's fast scan says so. */
	if (!memmem(js, len, "\\u0000", 6))
		return GS_OK;
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

/* Brackets open at byte off, outside strings: how deep cJSON was. */
static size_t depth_at(const char *js, size_t off)
{
	size_t d = 0;
	int in_str = 0;

	for (size_t i = 0; i < off; i++) {
		if (in_str) {
			if (js[i] == '\\')
				i++;
			else if (js[i] == '"')
				in_str = 0;
		} else if (js[i] == '"') {
			in_str = 1;
		} else if (js[i] == '[' || js[i] == '{') {
			d++;
		} else if ((js[i] == ']' || js[i] == '}') && d) {
			d--;
		}
	}
	return d;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

#define DUP_PAIRWISE 16 /* keys an object may have and be checked pairwise */

/* Refuses an object that has a key twice, at any depth: guardstack reads
 * the first (as cJSON does) while many parsers take the last, so the
 * second copy would reach the model, or the client, unfiltered.  path is
 * where j is, for the message; *pl its length. */
static int dup_keys(const cJSON *j, char *path, size_t pl, size_t cap,
		    char **err)
{
	const cJSON *c;
	const char *dup = NULL;
	size_t n = 0, i = 0;
	int rc = GS_OK;

	if (!cJSON_IsObject(j) && !cJSON_IsArray(j))
		return GS_OK;
	for (c = j->child; c; c = c->next)
		n++;
	if (cJSON_IsObject(j) && n > 1 && n <= DUP_PAIRWISE) {
		/* a chat message's few keys: every pair, no allocation */
		const cJSON *a;

		for (a = j->child; a && !dup; a = a->next)
			for (c = a->next; c && !dup; c = c->next)
				if (!strcmp(a->string, c->string))
					dup = a->string;
	} else if (cJSON_IsObject(j) && n > 1) {
		const char **keys = gs_alloc(n * sizeof *keys);

		if (!keys)
			return gs__err(err, GS_ENOMEM, "out of memory");
		for (c = j->child; c; c = c->next)
			keys[i++] = c->string;
		qsort(keys, n, sizeof *keys, by_key);
		for (i = 1; i < n && strcmp(keys[i - 1], keys[i]); i++)
			;
		if (i < n)
			dup = keys[i];
		gs_free(keys);
	}
	if (dup)
		return gs__err(err, GS_EINPUT, "%s: key \"%.40s\" appears "
			       "twice; refused, since JSON parsers disagree on "
			       "which one counts", path, dup);
	i = 0;
	for (c = j->child; rc >= 0 && c; c = c->next, i++) {
		if (!cJSON_IsObject(c) && !cJSON_IsArray(c))
			continue; /* no keys below: no path to write */
		/* The path is for humans: cut when it gets long. */
		if (cJSON_IsObject(j))
			snprintf(path + pl, cap - pl, ".%.24s", c->string);
		else
			snprintf(path + pl, cap - pl, "[%zu]", i);
		rc = dup_keys(c, path, strlen(path), cap, err);
		path[pl] = '\0';
	}
	return rc;
}

/* Parses a whole body that must be one object; *rc says why not. */
static cJSON *parse(const char *js, size_t len, const char *what, int *rc,
		    char **err)
{
	unsigned long failed = gs__alloc_failures();
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(js, len, &end, 0);
	char path[128];
	size_t off;

	*rc = GS_EINPUT;
	if (!root && gs__alloc_failures() != failed) {
		*rc = GS_ENOMEM;
		gs__err(err, GS_ENOMEM, "%s: out of memory", what);
		return NULL;
	}
	if (!root) {
		off = end && end >= js ? (size_t)(end - js) : 0;
		if (depth_at(js, off) >= CJSON_NESTING_LIMIT)
			gs__err(err, GS_EINPUT, "%s: JSON nested deeper than "
				"%d levels at byte %zu", what,
				CJSON_NESTING_LIMIT, off);
		else
			gs__err(err, GS_EINPUT, "%s: invalid JSON at byte "
				"%zu%s", what, off,
				len == 0 ? " (empty input)" : "");
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
	snprintf(path, sizeof path, "%s", what);
	*rc = dup_keys(root, path, strlen(path), sizeof path, err);
	if (*rc < 0) {
		cJSON_Delete(root);
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
	root = parse(js, len, "request", &rc, err);
	if (!root)
		return rc;
	d->root = root;
	model = cJSON_GetObjectItemCaseSensitive(root, "model");
	if (model && !cJSON_IsString(model))
		return gs__err(err, GS_EINPUT, "request.model: expected a "
			       "string, got %s", type_name(model));
	/* as -m and the stack's model =: "" names no model (leave the key
	 * out for the stack's) */
	if (model && !model->valuestring[0])
		return gs__err(err, GS_EINPUT, "request.model: empty; name a "
			       "model or leave the key out");
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

	/* A count past LONG_MAX (or infinite: 1e400) is no count at all;
	 * converting it to long would be undefined. */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) ||
	    !(v->valuedouble < (double)LONG_MAX))
		return -1;
	return (long)v->valuedouble;
}

int gs__parse_response(struct gs__doc *d, const char *js, size_t len,
		       size_t max, char **err)
{
	cJSON *root, *choices, *ch, *usage, *model;
	char where[48];
	int rc = GS_OK, i = 0;

	if (prescan(js, len, max, "response", err) < 0)
		return GS_EINPUT;
	root = parse(js, len, "response", &rc, err);
	if (!root)
		return rc;
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

/* Sets obj[key] = v, taking v (freed on failure).  key must be a string
 * literal: it is stored as cJSON_StringIsConst, so neither adding nor
 * replacing allocates (cJSON_ReplaceItemInObject does not check that its
 * copy of the key succeeded, and would leave a member without a name). */
static int set_member(cJSON *obj, const char *key, cJSON *v)
{
	cJSON *old;

	if (!v)
		return GS_ENOMEM;
	old = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!old) {
		cJSON_AddItemToObjectCS(obj, key, v);
		return GS_OK;
	}
	v->string = (char *)key;
	v->type |= cJSON_StringIsConst;
	cJSON_ReplaceItemViaPointer(obj, old, v);
	return GS_OK;
}

/* Writes m's texts back into its JSON object (creating it if needed).
 * On failure the object keeps its previous, consistent content and the
 * texts stay marked dirty. */
static int write_back(struct gs__msg *m)
{
	cJSON *s;

	if (!m->obj) {
		cJSON *o = cJSON_CreateObject();

		if (!o || !cJSON_AddStringToObject(o, "role", m->role_name)) {
			cJSON_Delete(o);
			return GS_ENOMEM;
		}
		m->obj = o;
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
		if (set_member(m->obj, "content", s) < 0)
			return GS_ENOMEM;
		for (size_t i = 0; i < m->nparts; i++)
			m->parts[i].node = NULL, m->parts[i].dirty = 0;
		m->dirty = 0;
		return GS_OK;
	}
	for (size_t i = 0; i < m->nparts; i++) {
		struct gs__text *t = &m->parts[i];

		if (!t->dirty)
			continue;
		if (set_member(t->node ? t->node : m->obj,
			       t->node ? "text" : "content",
			       cJSON_CreateString(t->s)) < 0)
			return GS_ENOMEM;
		t->dirty = 0;
	}
	return GS_OK;
}

char *gs__emit_request(struct gs__doc *d)
{
	cJSON *arr, *ref;
	char *out = NULL;

	if (!d->root) {
		cJSON *root = cJSON_CreateObject();

		if (!root || (d->model && !cJSON_AddStringToObject(
					root, "model", d->model))) {
			cJSON_Delete(root);
			return NULL;
		}
		d->root = root;
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
	cJSON_AddItemToObjectCS(d->root, "messages", arr);
	out = gs__json_print(d->root);
	cJSON_DetachItemViaPointer(d->root, arr);
	cJSON_Delete(arr); /* references only: the messages stay */
	return out;
}

/* A minimal completion object around answers given as text. */
static int build_response(struct gs__doc *d)
{
	cJSON *root = cJSON_CreateObject(), *choices = cJSON_CreateArray();
	cJSON *obj = cJSON_CreateString("chat.completion"), *ch;
	size_t i = 0;
	int attached = 0;

	for (size_t k = 0; k < d->n; k++)
		if (write_back(&d->msgs[k]) < 0)
			goto fail;
	if (!root || !choices || !obj)
		goto fail;
	cJSON_AddItemToObjectCS(root, "object", obj);
	cJSON_AddItemToObjectCS(root, "choices", choices);
	attached = 1;
	for (size_t k = 0; k < d->n; k++) {
		cJSON *ix = cJSON_CreateNumber((double)k);

		ch = cJSON_CreateObject();
		if (!ch || !ix) {
			cJSON_Delete(ch);
			cJSON_Delete(ix);
			goto fail;
		}
		cJSON_AddItemToObjectCS(ch, "index", ix);
		cJSON_AddItemToArray(choices, ch);
	}
	/* Nothing below can fail: the messages move into the tree only once
	 * it is complete, so a failure never leaves one owned twice. */
	cJSON_ArrayForEach(ch, choices) {
		cJSON_AddItemToObjectCS(ch, "message", d->msgs[i].obj);
		d->msgs[i++].borrowed = 1;
	}
	d->root = root;
	return GS_OK;
fail:
	if (!attached) {
		cJSON_Delete(choices);
		cJSON_Delete(obj);
	}
	cJSON_Delete(root);
	return GS_ENOMEM;
}

char *gs__emit_response(struct gs__doc *d)
{
	if (!d->root && build_response(d) < 0)
		return NULL;
	for (size_t i = 0; i < d->n; i++)
		if (write_back(&d->msgs[i]) < 0)
			return NULL;
	return gs__json_print(d->root);
}
