/* SPDX-License-Identifier: MIT */
/*
 * mistral-moderation - asks Mistral's moderation API about the
 * conversation and rejects when a category's score reaches its threshold.
 *
 * Request phase: the user and assistant messages go to
 * /v1/chat/moderations, which scores the last one in the context of the
 * others.  Response phase: the same plus the answer, so the answer is the
 * one scored.  When the moderation call fails the filter fails, and the
 * core rejects unless the section says on_error = ignore: fail closed,
 * unlike Mistral's own guardrails, which let content through by default.
 *
 * The HTTP client, retries and API keys are the core's (gs_upstream), so
 * the settings that tune them have the same names as in [upstream].
 */
#include <guardstack.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define MM_URL "https://api.mistral.ai/v1/chat/moderations"
#define MM_MODEL "mistral-moderation-latest"

/* Mistral's categories; the first five are checked unless the section
 * names its own. */
static const char *const mm_cats[] = {
	"sexual", "hate_and_discrimination", "violence_and_threats",
	"dangerous_and_criminal_content", "selfharm", "health", "financial",
	"law", "pii", NULL
};
#define MM_NCATS 9
#define MM_NDEFAULT 5
#define MM_DEFAULT_THRESHOLD 0.5

/* Client settings passed through to gs_upstream_new, with this plugin's
 * defaults where they differ from [upstream]'s. */
static const char *const mm_client_keys[] = {
	"keys", "timeout", "connect_timeout", "retries", "backoff_ms",
	"max_backoff", "max_response_bytes", "ca_file", "rotate_after",
	"key_timeout", "allow_http", "gcp_endpoint", "gcp_metadata", NULL
};
#define MM_NCLIENT 13

struct mm {
	gs_upstream *client;
	char *model;
	double threshold[MM_NCATS]; /* < 0: not checked */
};

static void mm_destroy(void *inst)
{
	struct mm *m = inst;

	gs_upstream_free(m->client);
	gs_free(m->model);
	gs_free(m);
}

/* "0.8", "1", ".25": parsed by hand, as strtod follows the locale's
 * decimal point and an embedding program may have set one. */
static int parse_threshold(const char *s, double *out)
{
	double v = 0, scale = 1;
	int digits = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++)
		v = v * 10 + (*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			v += (*s - '0') * (scale /= 10);
	if (*s || !digits || v <= 0 || v > 1)
		return -1;
	*out = v;
	return 0;
}

static int mm_create(gs_config *cfg, void **out)
{
	struct mm *m = gs_calloc(1, sizeof *m);
	const char *keys[MM_NCLIENT + 2], *values[MM_NCLIENT + 2];
	const char *url, *model, *v;
	char *err = NULL;
	size_t n = 0, bad;
	int rc, any = 0;

	if (!m)
		return GS_ENOMEM;
	if ((rc = gs_config_str(cfg, "url", MM_URL, &url)) < 0 ||
	    (rc = gs_config_str(cfg, "model", MM_MODEL, &model)) < 0)
		goto fail;
	m->model = gs_strndup(model, strlen(model));
	if (!m->model) {
		rc = GS_ENOMEM;
		goto fail;
	}
	for (int i = 0; mm_cats[i]; i++) {
		m->threshold[i] = -1;
		if ((rc = gs_config_str(cfg, mm_cats[i], NULL, &v)) < 0)
			goto fail;
		if (!v)
			continue;
		if (parse_threshold(v, &m->threshold[i]) < 0) {
			rc = gs_config_error(cfg, mm_cats[i], "%s = '%s': "
					     "expected a score above 0 and "
					     "at most 1", mm_cats[i], v);
			goto fail;
		}
		any = 1;
	}
	for (int i = 0; !any && i < MM_NDEFAULT; i++)
		m->threshold[i] = MM_DEFAULT_THRESHOLD;

	keys[n] = "url";
	values[n++] = url;
	/* A moderation call is small: shorter waits than a completion's. */
	keys[n] = "timeout";
	values[n++] = "10";
	keys[n] = "retries";
	values[n++] = "1";
	for (int i = 0; mm_client_keys[i]; i++) {
		const char *k = mm_client_keys[i];

		if ((rc = gs_config_str(cfg, k, NULL, &v)) < 0)
			goto fail;
		if (!v)
			continue;
		keys[n] = k;
		values[n++] = v;
	}
	/* Later settings win in gs_upstream_new: the section's own timeout
	 * and retries come after the defaults above.  Relative file: and
	 * ca_file paths are taken from the stack file's directory. */
	rc = gs_upstream_new(&m->client, n, keys, values, gs_config_dir(cfg),
			     &bad, &err);
	if (rc < 0) {
		rc = gs_config_error(cfg, bad < n ? keys[bad] : NULL, "%s",
				     err ? err : "cannot create the client");
		goto fail;
	}
	*out = m;
	return GS_OK;
fail:
	gs_free(err);
	mm_destroy(m);
	return rc;
}

static int add_msg(cJSON *arr, const char *role, const char *text,
		   size_t len)
{
	cJSON *o = cJSON_CreateObject();
	char *t = gs_strndup(text, len);
	int ok = o && t && cJSON_AddStringToObject(o, "role", role) &&
		 cJSON_AddStringToObject(o, "content", t);

	gs_free(t);
	if (!ok) {
		cJSON_Delete(o);
		return -1;
	}
	cJSON_AddItemToArray(arr, o);
	return 0;
}

/* The request body: the conversation, plus the answer in the response
 * phase.  NULL when out of memory; *empty when there is nothing to ask
 * about. */
static char *build_body(const struct mm *m, gs_ctx *ctx, int *empty)
{
	cJSON *root = cJSON_CreateObject(), *in;
	gs_buf ans = GS_BUF_INIT;
	char *js = NULL;
	int n = 0;

	*empty = 0;
	if (!root || !cJSON_AddStringToObject(root, "model", m->model) ||
	    !(in = cJSON_AddArrayToObject(root, "input")))
		goto out;
	for (size_t i = 0; i < gs_msg_count(ctx); i++) {
		const char *role = gs_msg_role(ctx, i), *t;
		size_t len;

		if (strcmp(role, "user") && strcmp(role, "assistant"))
			continue;
		t = gs_msg_text(ctx, i, &len);
		if (!t || !len)
			continue;
		if (add_msg(in, role, t, len) < 0)
			goto out;
		n++;
	}
	if (gs_ctx_phase(ctx) == GS_PHASE_RESPONSE) {
		for (size_t i = 0; i < gs_text_count(ctx); i++) {
			size_t len;
			const char *t = gs_text_get(ctx, i, &len);

			if (gs_buf_append(&ans, t, len) < 0)
				goto out;
		}
		if (ans.len && add_msg(in, "assistant", ans.data, ans.len) < 0)
			goto out;
		n = ans.len ? n + 1 : 0;
	}
	*empty = n == 0;
	js = cJSON_PrintUnformatted(root);
out:
	gs_buf_free(&ans);
	cJSON_Delete(root);
	return js;
}

/* Judges the answer: rejects on the highest score at or above its
 * threshold. */
static gs_result judge(const struct mm *m, gs_ctx *ctx, const char *body,
		       size_t len)
{
	cJSON *root = cJSON_ParseWithLength(body, len), *res, *r;
	double best = -1;
	int worst = -1, flagged = 0, nres = 0;
	gs_result out = GS_RESULT_OK;

	res = cJSON_GetObjectItemCaseSensitive(root, "results");
	cJSON_ArrayForEach(r, res) {
		cJSON *sc = cJSON_GetObjectItemCaseSensitive(r,
							"category_scores");

		if (!cJSON_IsObject(sc))
			break;
		nres++;
		for (int i = 0; i < MM_NCATS; i++) {
			cJSON *v;

			if (m->threshold[i] < 0)
				continue;
			v = cJSON_GetObjectItemCaseSensitive(sc, mm_cats[i]);
			if (!cJSON_IsNumber(v)) {
				gs_reject(ctx, "moderation answer has no "
					  "score for %s", mm_cats[i]);
				out = GS_RESULT_ERROR;
				goto done;
			}
			if (v->valuedouble >= m->threshold[i]) {
				flagged++;
				if (v->valuedouble - m->threshold[i] > best) {
					best = v->valuedouble -
					       m->threshold[i];
					worst = i;
				}
			}
		}
	}
	if (!nres || nres != cJSON_GetArraySize(res)) {
		gs_reject(ctx, "moderation answer is not JSON with "
			  "results[].category_scores");
		out = GS_RESULT_ERROR;
	} else if (worst >= 0) {
		double score = best + m->threshold[worst];

		gs_count(ctx, (unsigned long)flagged);
		gs_reject(ctx, "%s %s scored %.2f (threshold %.2f)%s",
			  gs_ctx_phase(ctx) == GS_PHASE_REQUEST ? "request"
			  : "answer", mm_cats[worst], score,
			  m->threshold[worst],
			  flagged > 1 ? ", and other categories too" : "");
		out = GS_RESULT_REJECT;
	}
done:
	cJSON_Delete(root);
	return out;
}

static gs_result mm_run(void *inst, gs_ctx *ctx)
{
	const struct mm *m = inst;
	gs_upstream_result r;
	char *body, *err = NULL;
	int empty, rc;
	gs_result out;

	body = build_body(m, ctx, &empty);
	if (!body) {
		gs_reject(ctx, "out of memory");
		return GS_RESULT_ERROR;
	}
	if (empty) {
		gs_free(body);
		return GS_RESULT_OK; /* no text: nothing to judge */
	}
	rc = gs_upstream_post(m->client, body, strlen(body), &r, &err);
	gs_free(body);
	if (rc < 0) {
		gs_reject(ctx, "moderation call failed: %s",
			  err ? err : gs_strerror(rc));
		out = GS_RESULT_ERROR;
	} else {
		out = judge(m, ctx, r.body, r.len);
	}
	gs_free(err);
	gs_upstream_result_clear(&r);
	return out;
}

GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
	GS_PLUGIN_HEADER,
	.name = "mistral-moderation",
	.description = "rejects what Mistral's moderation API scores at "
		       "or above a threshold",
	.version = "1",
	.phases = GS_PHASE_REQUEST | GS_PHASE_RESPONSE,
	.count_unit = "flags",
	.create = mm_create,
	.request = mm_run,
	.response = mm_run,
	.destroy = mm_destroy,
};
