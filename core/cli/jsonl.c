/* SPDX-License-Identifier: MIT */
/*
 * jsonl.c - one line of `guardstack filter --jsonl`: parse {"text": ...},
 * run it through the stack, build the answer line.  Apart from the
 * reading and writing (cmd_filter.c) so that the fuzz targets and the
 * allocation-failure test can drive exactly what the CLI runs.
 */
#include "config.h"
#include "cli.h"
#include "../jsonout.h"
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int cli_own_text(const gs_call *c, gs_phase phase, gs_buf *b)
{
	const char *role = phase == GS_PHASE_REQUEST ? "user" : "assistant";
	size_t n = gs_call_text_count(c, phase), l;

	for (size_t i = 0; i < n; i++) {
		const char *t = gs_call_text(c, phase, i, &l);

		if (!strcmp(gs_call_text_role(c, phase, i), role) &&
		    gs_buf_append(b, t, l) < 0)
			return -1;
	}
	return gs_buf_reserve(b, 0);
}

/* Every member is checked: a line missing "text" or "verdict" because an
 * allocation failed must not go out as if it were complete. */
static int add_str(cJSON *o, const char *k, const char *v)
{
	return v ? cJSON_AddStringToObject(o, k, v) != NULL
		 : cJSON_AddNullToObject(o, k) != NULL;
}

/* Builds one output line (with its newline) in *line.  text is borrowed
 * or NULL.  This is the reference version, through cJSON; emit_line below
 * writes the same bytes by hand and falls back to it for counts it does
 * not print itself. */
static int emit_line_cjson(gs_buf *line, const gs_stack *st,
			   const gs_call *c, gs_phase phase,
			   const char *verdict, const char *text,
			   const char *reason)
{
	cJSON *o = cJSON_CreateObject(), *arr = NULL;
	char *s = NULL;
	int ok;

	ok = o && add_str(o, "text", text) && add_str(o, "verdict", verdict) &&
	     add_str(o, "reason", reason) &&
	     (arr = cJSON_AddArrayToObject(o, "filters"));
	if (ok && c) {
		const gs_filter_report *r;
		size_t n = gs_call_reports(c, &r);

		for (size_t i = 0; ok && i < n; i++) {
			gs_filter_desc d;
			cJSON *f;

			gs_stack_filter(st, i, &d);
			if (!(d.phases & phase))
				continue;
			f = cJSON_CreateObject();
			ok = f && cJSON_AddItemToArray(arr, f) &&
			     add_str(f, "name", r[i].name) &&
			     add_str(f, "verdict",
				     gs_verdict_name(r[i].verdict)) &&
			     cJSON_AddNumberToObject(f, "count",
						     (double)r[i].count);
			if (!ok && f && !f->prev)
				cJSON_Delete(f); /* not in the array yet */
		}
	}
	if (ok)
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		return -1;
	gs_buf_reset(line);
	ok = gs_buf_puts(line, s) >= 0 && gs_buf_putc(line, '\n') >= 0;
	cJSON_free(s);
	return ok ? 0 : -1;
}

/* Appends s as a JSON string, or null for NULL. */
static int put_str(gs_buf *b, const char *s)
{
	return s ? gs__json_str(b, s) : GS_BUF_LIT(b, "null");
}

/* Appends n and the '}' that closes its filter. */
static int put_count(gs_buf *b, unsigned long n)
{
	return gs__json_int(b, (long long)n) < 0 ? -1 : GS_BUF_LIT(b, "}");
}

/* The same line as emit_line_cjson, without building a tree: this runs
 * once per line, and cJSON's objects and its printf-and-sscanf of every
 * count cost more than the filters.  Counts of 10^15 or more (printed by
 * cJSON in exponent form) go the reference way. */
static int emit_line(gs_buf *line, const gs_stack *st, const gs_call *c,
		     gs_phase phase, const char *verdict, const char *text,
		     const char *reason)
{
	const gs_filter_report *r = NULL;
	size_t n = c ? gs_call_reports(c, &r) : 0;
	int first = 1;

	for (size_t i = 0; i < n; i++)
		if (r[i].count >= 1000000000000000ul)
			return emit_line_cjson(line, st, c, phase, verdict,
					       text, reason);
	gs_buf_reset(line);
	if (GS_BUF_LIT(line, "{\"text\":") < 0 || put_str(line, text) < 0 ||
	    GS_BUF_LIT(line, ",\"verdict\":") < 0 ||
	    put_str(line, verdict) < 0 ||
	    GS_BUF_LIT(line, ",\"reason\":") < 0 ||
	    put_str(line, reason) < 0 ||
	    GS_BUF_LIT(line, ",\"filters\":[") < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		gs_filter_desc d;

		gs_stack_filter(st, i, &d);
		if (!(d.phases & phase))
			continue;
		if ((first ? GS_BUF_LIT(line, "{\"name\":")
			   : GS_BUF_LIT(line, ",{\"name\":")) < 0 ||
		    put_str(line, r[i].name) < 0 ||
		    GS_BUF_LIT(line, ",\"verdict\":") < 0 ||
		    put_str(line, gs_verdict_name(r[i].verdict)) < 0 ||
		    GS_BUF_LIT(line, ",\"count\":") < 0 ||
		    put_count(line, r[i].count) < 0)
			return -1;
		first = 0;
	}
	return GS_BUF_LIT(line, "]}\n") < 0 ? -1 : 0;
}

/* Parses {"text": "..."}; returns the text (borrowed from *root) or NULL
 * with *why set. */
static const char *line_text(const char *s, size_t len, cJSON **root,
			     char *why, size_t whylen)
{
	const char *end = NULL;
	cJSON *t;
	char *err = NULL;
	size_t off;

	*root = NULL;
	if (gs_json_check(s, len, 0, &err) < 0) {
		snprintf(why, whylen, "%s", err ? err : "malformed line");
		gs_free(err);
		return NULL;
	}
	*root = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (!*root) {
		snprintf(why, whylen, "invalid JSON at byte %zu",
			 end ? (size_t)(end - s) : (size_t)0);
		return NULL;
	}
	/* A second value on the line would be dropped unseen. */
	for (off = (size_t)(end - s); off < len && strchr(" \t\r", s[off]);)
		off++;
	if (off < len) {
		snprintf(why, whylen, "unexpected data after the JSON value "
			 "at byte %zu", off);
		return NULL;
	}
	t = cJSON_GetObjectItemCaseSensitive(*root, "text");
	if (!cJSON_IsObject(*root) || !cJSON_IsString(t)) {
		snprintf(why, whylen, "expected an object with a string "
			 "\"text\"");
		return NULL;
	}
	/* as --json does: parsers disagree on which of two counts */
	for (cJSON *k = t->next; k; k = k->next)
		if (k->string && !strcmp(k->string, "text")) {
			snprintf(why, whylen, "key \"text\" appears twice; "
				 "refused, since JSON parsers disagree on "
				 "which one counts");
			return NULL;
		}
	return t->valuestring;
}

int cli_jsonl_line(const gs_stack *st, gs_phase phase, const char *s,
		   size_t len, int too_long, size_t max_bytes,
		   unsigned long n, gs_buf *out)
{
	char why[160];
	cJSON *root = NULL;
	const char *text;
	gs_call *c = NULL;
	int e;

	if (too_long) {
		snprintf(why, sizeof why, "line %lu is longer than %zu bytes",
			 n, max_bytes);
		e = emit_line(out, st, NULL, phase, "error", NULL, why);
	} else if (!(text = line_text(s, len, &root, why, sizeof why))) {
		char full[200];

		snprintf(full, sizeof full, "line %lu: %s", n, why);
		e = emit_line(out, st, NULL, phase, "error", NULL, full);
	} else {
		char *err = NULL;
		size_t tl = strlen(text);
		int oc;

		c = gs_call_new(st);
		if (!c) {
			cJSON_Delete(root);
			return -1;
		}
		oc = phase == GS_PHASE_REQUEST
			? gs_call_add_message(c, "user", text, tl, &err)
			: gs_call_set_answer(c, text, tl, &err);
		if (oc >= 0)
			oc = gs_call_run(c, phase);
		if (oc < 0) {
			snprintf(why, sizeof why, "line %lu: %s", n,
				 err ? err : gs_strerror(oc));
			e = emit_line(out, st, c, phase, "error", NULL, why);
		} else {
			int pass = oc == GS_OUTCOME_PASS ||
				   oc == GS_OUTCOME_MODIFIED;
			gs_buf t = GS_BUF_INIT;

			if (pass && cli_own_text(c, phase, &t) < 0)
				e = -1;
			else
				e = emit_line(out, st, c, phase,
					      gs_outcome_name(oc),
					      pass ? t.data : NULL,
					      gs_call_reason(c));
			gs_buf_free(&t);
		}
		gs_free(err);
	}
	cJSON_Delete(root);
	gs_call_free(c);
	return e;
}
