/* SPDX-License-Identifier: MIT */
/* call.c - one request's trip through a stack (the gs_call API). */
#include "upstream.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* One allocation for the call and its per-filter arrays: a call is made
 * for every request, so its fixed cost counts. */
struct call_block {
	gs_call call;
	gs_filter_report reports[];
};

gs_call *gs_call_new(const gs_stack *st)
{
	size_t n = st->nfilters + 1;
	struct call_block *cb = gs_calloc(1, sizeof *cb + n *
					  (sizeof(gs_filter_report) +
					   sizeof(struct gs__pdata)));
	gs_call *c;

	if (!cb)
		return NULL;
	c = &cb->call;
	c->st = st;
	gs__doc_init(&c->req);
	gs__doc_init(&c->resp);
	c->fail_filter = -1;
	c->upstream_status = -1;
	c->reports = cb->reports;
	/* pointers all: the pdata array after the reports is aligned */
	c->pdata = (struct gs__pdata *)(void *)(cb->reports + n);
	for (size_t i = 0; i < st->nfilters; i++) {
		c->reports[i].name = st->filters[i].name;
		c->reports[i].module = st->filters[i].plugin->name;
		c->reports[i].count_unit = st->filters[i].plugin->count_unit
			? st->filters[i].plugin->count_unit : "matches";
	}
	return c;
}

/* The call id is drawn when finish() first needs it: a call whose stack
 * has no finish() callback costs no getrandom(2). */
static void make_call_id(gs_call *c)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char id[8];

	if (gs_random(id, sizeof id) < 0)
		memset(id, 0, sizeof id);
	for (int i = 0; i < 8; i++) {
		c->call_id[2 * i] = hex[id[i] >> 4];
		c->call_id[2 * i + 1] = hex[id[i] & 15];
	}
	c->call_id[16] = '\0';
}

static long chars(const struct gs__doc *d)
{
	long n = 0;

	for (size_t m = 0; m < d->n; m++)
		for (size_t p = 0; p < d->msgs[m].nparts; p++)
			n += (long)gs_utf8_count(d->msgs[m].parts[p].s,
						 d->msgs[m].parts[p].len);
	return n;
}

void gs_call_finish(gs_call *c)
{
	const gs_stack *st = c->st;
	gs_call_info info;
	struct timespec now;
	size_t i;

	if (c->finished || !c->phases_run)
		return;
	c->finished = 1;
	/* The figures below cost a pass over every text: skip them when no
	 * filter has a finish() to read them. */
	for (i = 0; i < st->nfilters && !st->filters[i].plugin->finish; i++)
		;
	if (i == st->nfilters)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	make_call_id(c);
	memset(&info, 0, sizeof info);
	info.size = sizeof info;
	info.stack = st->name;
	info.call_id = c->call_id;
	info.model = c->req.model;
	info.outcome = c->outcome;
	info.rejected_by = c->fail_filter >= 0
		? st->filters[c->fail_filter].name : NULL;
	info.reason = c->reason;
	info.messages = c->req.set ? (long)c->req.n : -1;
	info.input_chars = c->req.set ? chars(&c->req) : -1;
	info.output_chars = c->resp.set ? chars(&c->resp) : -1;
	info.prompt_tokens = c->resp.usage[0];
	info.completion_tokens = c->resp.usage[1];
	info.total_tokens = c->resp.usage[2];
	info.finish_reason = c->resp.finish_reason;
	info.latency_ms = (double)(now.tv_sec - c->t0.tv_sec) * 1e3 +
			  (double)(now.tv_nsec - c->t0.tv_nsec) / 1e6;
	info.upstream_status = c->upstream_status;
	info.key_fingerprint = c->key_fingerprint;
	info.nfilters = st->nfilters;
	info.filters = c->reports;
	for (i = 0; i < st->nfilters; i++) {
		const struct gs__filter *f = &st->filters[i];
		gs_ctx ctx = { .call = c, .fi = i, .f = f, .phase = 0 };

		if (f->plugin->finish)
			f->plugin->finish(f->instance, &ctx, &info);
		gs_free(ctx.reason);
	}
}

void gs_call_free(gs_call *c)
{
	if (!c)
		return;
	gs_call_finish(c);
	for (size_t i = 0; i < c->st->nfilters; i++)
		if (c->pdata[i].free_fn && c->pdata[i].data)
			c->pdata[i].free_fn(c->pdata[i].data);
	gs__doc_clear(&c->req);
	gs__doc_clear(&c->resp);
	if (c->md)
		gs__md_free(c->md);
	gs_free(c->view);
	gs_free(c->reason);
	gs_free(c->key_fingerprint);
	gs_free(c); /* with its reports and pdata (gs_call_new) */
}

int gs_call_set_request_json(gs_call *c, const char *json, size_t len,
			     size_t max_bytes, char **errmsg)
{
	int rc;

	if (errmsg)
		*errmsg = NULL;
	if (c->phases_run)
		return gs__err(errmsg, GS_ESTATE, "the request cannot change "
			       "after a phase ran");
	gs__doc_clear(&c->req);
	rc = gs__parse_request(&c->req, json, len, max_bytes, errmsg);
	if (rc < 0)
		gs__doc_clear(&c->req);
	return rc;
}

int gs_call_set_model(gs_call *c, const char *model)
{
	size_t len = strlen(model);
	char *m;

	/* the name goes into the request's JSON as it is, and a stack's
	 * model = may not be empty either */
	if (!len || gs_utf8_check(model, len) != len)
		return GS_EINPUT;
	if (!(m = gs_strndup(model, len)))
		return GS_ENOMEM;
	/* A request read from JSON is written back from its tree. */
	if (c->req.root) {
		cJSON *s = cJSON_CreateString(model);

		if (!s) {
			gs_free(m);
			return GS_ENOMEM;
		}
		if (cJSON_GetObjectItemCaseSensitive(c->req.root, "model"))
			cJSON_ReplaceItemInObjectCaseSensitive(c->req.root,
							       "model", s);
		else
			cJSON_AddItemToObject(c->req.root, "model", s);
	}
	gs_free(c->req.model);
	c->req.model = m;
	return GS_OK;
}

int gs_call_add_message(gs_call *c, const char *role, const char *text,
			size_t len, char **errmsg)
{
	unsigned bit = gs__role_bit(role);
	struct gs__msg *m;

	if (errmsg)
		*errmsg = NULL;
	if (c->phases_run || c->req.root)
		return gs__err(errmsg, GS_ESTATE, "messages can be added only "
			       "before a phase runs and to a request not "
			       "set from JSON");
	if (!bit)
		return gs__err(errmsg, GS_EINVAL, "'%s' is not a role", role);
	if (gs__check_text(text, len, "message", errmsg) < 0)
		return GS_EINPUT;
	m = gs__doc_add(&c->req, bit, role);
	if (!m)
		return gs__err(errmsg, GS_ENOMEM, "out of memory");
	m->kind = GS__CONTENT_STRING;
	if (gs__msg_add_text(m, text, len, NULL) < 0)
		return gs__err(errmsg, GS_ENOMEM, "out of memory");
	c->req.set = 1;
	return GS_OK;
}

int gs_call_set_response_json(gs_call *c, const char *json, size_t len,
			      size_t max_bytes, char **errmsg)
{
	int rc;

	if (errmsg)
		*errmsg = NULL;
	if (c->phases_run & GS_PHASE_RESPONSE)
		return gs__err(errmsg, GS_ESTATE, "the response phase already "
			       "ran");
	gs__doc_clear(&c->resp);
	rc = gs__parse_response(&c->resp, json, len, max_bytes, errmsg);
	if (rc < 0)
		gs__doc_clear(&c->resp);
	return rc;
}

int gs_call_set_answer(gs_call *c, const char *text, size_t len,
		       char **errmsg)
{
	struct gs__msg *m;

	if (errmsg)
		*errmsg = NULL;
	if (c->phases_run & GS_PHASE_RESPONSE)
		return gs__err(errmsg, GS_ESTATE, "the response phase already "
			       "ran");
	if (gs__check_text(text, len, "answer", errmsg) < 0)
		return GS_EINPUT;
	gs__doc_clear(&c->resp);
	m = gs__doc_add(&c->resp, GS__ROLE_ASSISTANT, "assistant");
	if (!m)
		return gs__err(errmsg, GS_ENOMEM, "out of memory");
	m->kind = GS__CONTENT_STRING;
	if (gs__msg_add_text(m, text, len, NULL) < 0)
		return gs__err(errmsg, GS_ENOMEM, "out of memory");
	c->resp.set = 1;
	return GS_OK;
}

int gs_call_run(gs_call *c, gs_phase phase)
{
	struct gs__doc *d;

	if (phase != GS_PHASE_REQUEST && phase != GS_PHASE_RESPONSE)
		return GS_EINVAL;
	if (c->phases_run & phase)
		return GS_ESTATE;
	d = phase == GS_PHASE_REQUEST ? &c->req : &c->resp;
	if (!d->set)
		return GS_ESTATE;
	if (!c->phases_run)
		clock_gettime(CLOCK_MONOTONIC, &c->t0);
	c->phases_run |= phase;
	/* A request that was turned away stays turned away. */
	if (c->outcome == GS_OUTCOME_REJECTED || c->outcome == GS_OUTCOME_ERROR)
		return c->outcome;
	return gs__run_phase(c, phase);
}

gs_outcome gs_call_outcome(const gs_call *c) { return c->outcome; }

const char *gs_call_rejected_by(const gs_call *c)
{
	return c->fail_filter >= 0 ? c->st->filters[c->fail_filter].name
				   : NULL;
}

const char *gs_call_reason(const gs_call *c) { return c->reason; }

size_t gs_call_reports(const gs_call *c, const gs_filter_report **out)
{
	*out = c->reports;
	return c->st->nfilters;
}

static const struct gs__doc *cdoc(const gs_call *c, gs_phase p)
{
	return p == GS_PHASE_RESPONSE ? &c->resp : &c->req;
}

size_t gs_call_text_count(const gs_call *c, gs_phase phase)
{
	const struct gs__doc *d = cdoc(c, phase);
	size_t n = 0;

	for (size_t m = 0; m < d->n; m++)
		n += d->msgs[m].nparts;
	return n;
}

const char *gs_call_text(const gs_call *c, gs_phase phase, size_t i,
			 size_t *len)
{
	const struct gs__doc *d = cdoc(c, phase);

	for (size_t m = 0; m < d->n; m++) {
		if (i < d->msgs[m].nparts) {
			if (len)
				*len = d->msgs[m].parts[i].len;
			return d->msgs[m].parts[i].s;
		}
		i -= d->msgs[m].nparts;
	}
	if (len)
		*len = 0;
	return NULL;
}

const char *gs_call_text_role(const gs_call *c, gs_phase phase, size_t i)
{
	const struct gs__doc *d = cdoc(c, phase);

	for (size_t m = 0; m < d->n; m++) {
		if (i < d->msgs[m].nparts)
			return d->msgs[m].role_name;
		i -= d->msgs[m].nparts;
	}
	return NULL;
}

char *gs_call_request_json(const gs_call *c)
{
	return c->req.set ? gs__emit_request((struct gs__doc *)&c->req) : NULL;
}

char *gs_call_response_json(const gs_call *c)
{
	return c->resp.set ? gs__emit_response((struct gs__doc *)&c->resp)
			   : NULL;
}

/* ---- upstream ---------------------------------------------------------- */

/* The call failed at the upstream: closed, with the message as reason. */
static int up_fail(gs_call *c, int rc, char *msg, char **errmsg)
{
	c->outcome = GS_OUTCOME_ERROR;
	gs_free(c->reason);
	c->reason = msg ? gs_strndup(msg, strlen(msg)) : NULL;
	if (errmsg && !*errmsg)
		*errmsg = msg;
	else
		gs_free(msg);
	return rc;
}

int gs_call_upstream(gs_call *c, char **errmsg)
{
	const struct gs__up *up = c->st->up;
	gs_upstream_result r;
	char *err = NULL, *json, *perr = NULL;
	cJSON *stream;
	int rc;

	if (errmsg)
		*errmsg = NULL;
	if (!(c->phases_run & GS_PHASE_REQUEST) ||
	    (c->phases_run & GS_PHASE_RESPONSE) || c->resp.set)
		return gs__err(errmsg, GS_ESTATE, "the upstream is called "
			       "once, after the request phase");
	if (c->outcome != GS_OUTCOME_PASS && c->outcome != GS_OUTCOME_MODIFIED)
		return gs__err(errmsg, GS_ESTATE, "the request did not pass: "
			       "nothing to send");
	stream = c->req.root ? cJSON_GetObjectItemCaseSensitive(c->req.root,
								"stream")
			     : NULL;
	if (cJSON_IsTrue(stream))
		return up_fail(c, GS_EINVAL, gs__fmt("\"stream\": true is not "
			       "supported: the response phase needs the "
			       "whole answer"), errmsg);
	/* the stack reader refused an empty or non-UTF-8 model = */
	if (!c->req.model && (rc = gs_call_set_model(c, up->model)) < 0)
		return up_fail(c, rc, gs__fmt(rc == GS_ENOMEM ? "out of memory"
					      : "[upstream] model: not a "
					      "model name"), errmsg);
	if (up->offline) {
		rc = gs__offline_answer(c, up, &err);
		return rc < 0 ? up_fail(c, rc, err, errmsg) : rc;
	}
	json = gs__emit_request(&c->req);
	if (!json)
		return up_fail(c, GS_ENOMEM, gs__fmt("out of memory"), errmsg);
	rc = gs_upstream_post(up->client, json, strlen(json), &r, &err);
	gs_free(json);
	c->upstream_status = r.status;
	if (r.key_fingerprint[0]) {
		gs_free(c->key_fingerprint);
		c->key_fingerprint = gs_strndup(r.key_fingerprint,
						strlen(r.key_fingerprint));
	}
	if (rc >= 0) {
		rc = gs_call_set_response_json(c, r.body, r.len, 0, &perr);
		if (rc < 0) {
			err = gs__fmt("upstream answered %d with something "
				      "that is not a chat completion: %s",
				      r.status, perr ? perr : gs_strerror(rc));
			rc = rc == GS_ENOMEM ? rc : GS_EUPSTREAM;
		}
	}
	gs_free(perr);
	gs_upstream_result_clear(&r);
	return rc < 0 ? up_fail(c, rc, err, errmsg) : GS_OK;
}

int gs_call_roundtrip(gs_call *c, char **errmsg)
{
	int oc = gs_call_run(c, GS_PHASE_REQUEST), rc;

	if (errmsg)
		*errmsg = NULL;
	if (oc != GS_OUTCOME_PASS && oc != GS_OUTCOME_MODIFIED)
		return oc;
	rc = gs_call_upstream(c, errmsg);
	if (rc < 0)
		return rc;
	return gs_call_run(c, GS_PHASE_RESPONSE);
}

int gs_call_upstream_status(const gs_call *c)
{
	return c->upstream_status;
}

const char *gs_call_key_fingerprint(const gs_call *c)
{
	return c->key_fingerprint;
}
