/* SPDX-License-Identifier: MIT */
/*
 * cmd_filter.c - `guardstack filter`: stdin through one phase of a stack,
 * as plain text, as one chat-completions JSON, or as JSON lines streamed
 * one call per line (constant memory however long the input).
 */
#include "config.h"
#include "cli.h"
#include <cjson/cJSON.h>
#include <string.h>

static int outcome_exit(const gs_call *c, int oc)
{
	if (oc == GS_OUTCOME_REJECTED) {
		cli_err("rejected%s%s: %s",
			gs_call_rejected_by(c) ? " by " : "",
			gs_call_rejected_by(c) ? gs_call_rejected_by(c) : "",
			gs_call_reason(c) ? gs_call_reason(c) : "");
		return EXIT_REJECTED;
	}
	if (oc == GS_OUTCOME_ERROR) {
		cli_err("%s; nothing was passed on",
			gs_call_reason(c) ? gs_call_reason(c) : "error");
		return EXIT_RUNTIME;
	}
	return EXIT_PASS;
}

static void report(const gs_stack *st, const gs_call *c, gs_phase phase)
{
	const gs_filter_report *r;
	size_t n = gs_call_reports(c, &r);

	for (size_t i = 0; i < n; i++) {
		gs_filter_desc d;

		gs_stack_filter(st, i, &d);
		if (!(d.phases & phase))
			continue;
		fprintf(stderr, "guardstack: %s: %s", r[i].name,
			gs_verdict_name(r[i].verdict));
		if (r[i].count)
			fprintf(stderr, " (%lu %s)", r[i].count,
				r[i].count_unit);
		fputc('\n', stderr);
	}
}

/* The text of the role the CLI fed in (user for requests, assistant for
 * answers): a filter may have added other messages around it. */
static int own_text(const gs_call *c, gs_phase phase, gs_buf *b)
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

static int run_one(const struct cli_opts *o, gs_stack *st, const char *in,
		   size_t len)
{
	gs_call *c = gs_call_new(st);
	char *err = NULL, *out = NULL;
	int rc, ret;

	if (!c) {
		cli_err("out of memory");
		return EXIT_RUNTIME;
	}
	if (o->json)
		rc = o->phase == GS_PHASE_REQUEST
			? gs_call_set_request_json(c, in, len, o->max_bytes,
						   &err)
			: gs_call_set_response_json(c, in, len, o->max_bytes,
						    &err);
	else
		rc = o->phase == GS_PHASE_REQUEST
			? gs_call_add_message(c, "user", in, len, &err)
			: gs_call_set_answer(c, in, len, &err);
	if (rc < 0) {
		cli_err("stdin: %s", err ? err : gs_strerror(rc));
		gs_free(err);
		gs_call_free(c);
		return rc == GS_ENOMEM ? EXIT_RUNTIME : EXIT_INPUT;
	}
	rc = gs_call_run(c, o->phase);
	if (rc < 0) {
		cli_err("%s", gs_strerror(rc));
		gs_call_free(c);
		return EXIT_RUNTIME;
	}
	if (o->verbose)
		report(st, c, o->phase);
	ret = outcome_exit(c, rc);
	if (ret == EXIT_PASS) {
		if (o->json) {
			out = o->phase == GS_PHASE_REQUEST
				? gs_call_request_json(c)
				: gs_call_response_json(c);
			if (!out) {
				cli_err("out of memory");
				ret = EXIT_RUNTIME;
			} else {
				fputs(out, stdout);
				fputc('\n', stdout);
			}
			gs_free(out);
		} else {
			gs_buf t = GS_BUF_INIT;
			if (own_text(c, o->phase, &t) < 0) {
				cli_err("out of memory");
				ret = EXIT_RUNTIME;
			} else if (t.len) {
				fwrite(t.data, 1, t.len, stdout);
			}
			gs_buf_free(&t);
		}
	}
	gs_call_free(c);
	if (fflush(stdout) != 0 && ret == EXIT_PASS) {
		cli_err("writing stdout failed");
		ret = EXIT_RUNTIME;
	}
	return ret;
}

/* One output line for --jsonl.  text is borrowed or NULL. */
static int emit_line(gs_buf *line, const gs_stack *st, const gs_call *c,
		     gs_phase phase, const char *verdict, const char *text,
		     const char *reason)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	char *s;

	if (!o)
		return -1;
	if (text)
		cJSON_AddStringToObject(o, "text", text);
	else
		cJSON_AddNullToObject(o, "text");
	cJSON_AddStringToObject(o, "verdict", verdict);
	if (reason)
		cJSON_AddStringToObject(o, "reason", reason);
	else
		cJSON_AddNullToObject(o, "reason");
	arr = cJSON_AddArrayToObject(o, "filters");
	if (c && arr) {
		const gs_filter_report *r;
		size_t n = gs_call_reports(c, &r);

		for (size_t i = 0; i < n; i++) {
			gs_filter_desc d;
			cJSON *f;

			gs_stack_filter(st, i, &d);
			if (!(d.phases & phase) || !(f = cJSON_CreateObject()))
				continue;
			cJSON_AddStringToObject(f, "name", r[i].name);
			cJSON_AddStringToObject(f, "verdict",
						gs_verdict_name(r[i].verdict));
			cJSON_AddNumberToObject(f, "count",
						(double)r[i].count);
			cJSON_AddItemToArray(arr, f);
		}
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		return -1;
	gs_buf_reset(line);
	if (gs_buf_puts(line, s) < 0 || gs_buf_putc(line, '\n') < 0) {
		gs_free(s);
		return -1;
	}
	gs_free(s);
	return fwrite(line->data, 1, line->len, stdout) == line->len ? 0 : -1;
}

/* Parses {"text": "..."}; returns the text (borrowed from *root) or NULL
 * with *why set. */
static const char *line_text(const char *s, size_t len, cJSON **root,
			     char *why, size_t whylen)
{
	const char *end;
	cJSON *t;
	char *err = NULL;

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
	t = cJSON_GetObjectItemCaseSensitive(*root, "text");
	if (!cJSON_IsObject(*root) || !cJSON_IsString(t)) {
		snprintf(why, whylen, "expected an object with a string "
			 "\"text\"");
		return NULL;
	}
	return t->valuestring;
}

static int run_jsonl(const struct cli_opts *o, gs_stack *st)
{
	gs_buf in = GS_BUF_INIT, line = GS_BUF_INIT;
	int r, too_long, ret = 0;
	unsigned long n = 0;

	while ((r = cli_read_line(stdin, &in, o->max_bytes, &too_long)) > 0) {
		char why[160];
		cJSON *root = NULL;
		const char *text;
		gs_call *c = NULL;
		int e;

		n++;
		if (too_long) {
			snprintf(why, sizeof why, "line %lu is longer than "
				 "%zu bytes", n, o->max_bytes);
			e = emit_line(&line, st, NULL, o->phase, "error",
				      NULL, why);
		} else if (!(text = line_text(in.data ? in.data : "", in.len,
					      &root, why, sizeof why))) {
			char full[200];
			snprintf(full, sizeof full, "line %lu: %s", n, why);
			e = emit_line(&line, st, NULL, o->phase, "error",
				      NULL, full);
		} else {
			char *err = NULL;
			size_t tl = strlen(text);
			int oc;

			c = gs_call_new(st);
			if (!c) {
				ret = EXIT_RUNTIME;
				cJSON_Delete(root);
				break;
			}
			oc = o->phase == GS_PHASE_REQUEST
				? gs_call_add_message(c, "user", text, tl, &err)
				: gs_call_set_answer(c, text, tl, &err);
			if (oc >= 0)
				oc = gs_call_run(c, o->phase);
			if (oc < 0) {
				snprintf(why, sizeof why, "line %lu: %s", n,
					 err ? err : gs_strerror(oc));
				e = emit_line(&line, st, c, o->phase, "error",
					      NULL, why);
			} else {
				int pass = oc == GS_OUTCOME_PASS ||
					   oc == GS_OUTCOME_MODIFIED;
				gs_buf t = GS_BUF_INIT;

				if (pass && own_text(c, o->phase, &t) < 0)
					e = -1;
				else
					e = emit_line(&line, st, c, o->phase,
						      gs_outcome_name(oc),
						      pass ? t.data : NULL,
						      gs_call_reason(c));
				gs_buf_free(&t);
			}
			gs_free(err);
		}
		cJSON_Delete(root);
		gs_call_free(c);
		if (e < 0) {
			cli_err("writing stdout failed");
			ret = EXIT_RUNTIME;
			break;
		}
	}
	if (r < 0) {
		cli_err("reading stdin failed");
		ret = EXIT_RUNTIME;
	}
	gs_buf_free(&in);
	gs_buf_free(&line);
	if (fflush(stdout) != 0 && !ret) {
		cli_err("writing stdout failed");
		ret = EXIT_RUNTIME;
	}
	return ret;
}

int cmd_filter(const struct cli_opts *o)
{
	gs_stack *st;
	char *in = NULL;
	size_t len;
	int rc = cli_load(o, &st);

	if (rc)
		return rc;
	if (o->jsonl) {
		rc = run_jsonl(o, st);
	} else {
		rc = cli_read_all(stdin, o->max_bytes, &in, &len);
		if (!rc)
			rc = run_one(o, st, in, len);
	}
	gs_free(in);
	gs_stack_free(st);
	return rc;
}
