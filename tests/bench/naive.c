/* SPDX-License-Identifier: MIT */
/*
 * naive.c - the baseline: each text filter as the straightforward
 * version issue 3 quotes, one PCRE2 substitute pass with JIT, match data
 * kept between calls, as a direct port of those regexes would be written.
 * It is not a correctness reference (it misses most of what the plugins
 * catch); it shows what the plugins' speed is to be compared with.
 */
#include "bench.h"
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

const char *const naive_names[NAIVE_N] = {
	"input-patterns", "ssn-redact", "email-redact", "script-strip",
	"leak-redact",
};

static const struct {
	const char *pattern, *rep;
} rules[NAIVE_N] = {
	{ "ignore previous instructions|ignore all instructions|"
	  "system prompt|you are now|override", "[FILTERED]" },
	{ "\\b\\d{3}-\\d{2}-\\d{4}\\b", "[SSN]" },
	{ "\\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Z]{2,}\\b", "[EMAIL]" },
	{ "<script[^>]*>.*?</script>", "" },
	{ "(?i)system prompt:.*", "[REDACTED]" },
};

struct naive {
	pcre2_code *code[NAIVE_N];
	pcre2_match_data *md;
};

struct naive *naive_new(void)
{
	struct naive *nv = gs_calloc(1, sizeof *nv);

	if (!nv)
		return NULL;
	for (int i = 0; i < NAIVE_N; i++) {
		int ec;
		PCRE2_SIZE eo;

		nv->code[i] = pcre2_compile((PCRE2_SPTR)rules[i].pattern,
					    PCRE2_ZERO_TERMINATED, PCRE2_UTF,
					    &ec, &eo, NULL);
		if (!nv->code[i] ||
		    pcre2_jit_compile(nv->code[i], PCRE2_JIT_COMPLETE) != 0) {
			fprintf(stderr, "gs-bench: naive %s: cannot compile "
				"(error %d)\n", naive_names[i], ec);
			naive_free(nv);
			return NULL;
		}
	}
	nv->md = pcre2_match_data_create(8, NULL);
	if (!nv->md) {
		naive_free(nv);
		return NULL;
	}
	return nv;
}

void naive_free(struct naive *nv)
{
	if (!nv)
		return;
	for (int i = 0; i < NAIVE_N; i++)
		pcre2_code_free(nv->code[i]);
	pcre2_match_data_free(nv->md);
	gs_free(nv);
}

static int subst(struct naive *nv, enum naive_id id, const char *s,
		 size_t len, gs_buf *out, PCRE2_SIZE *n)
{
	*n = out->cap;
	return pcre2_substitute(nv->code[id], (PCRE2_SPTR)s, len, 0,
				PCRE2_SUBSTITUTE_GLOBAL |
				PCRE2_SUBSTITUTE_OVERFLOW_LENGTH, nv->md,
				NULL, (PCRE2_SPTR)rules[id].rep,
				PCRE2_ZERO_TERMINATED,
				(PCRE2_UCHAR *)out->data, n);
}

long naive_run(struct naive *nv, enum naive_id id, const char *s,
	       size_t len, gs_buf *out)
{
	PCRE2_SIZE n;
	int rc;

	/* Room for the text and some replacements; on overflow PCRE2 says
	 * how much it needs and the pass runs again, as a caller of
	 * pcre2_substitute would do it. */
	gs_buf_reset(out);
	if (gs_buf_reserve(out, len + 1024) < 0)
		return -1;
	rc = subst(nv, id, s, len, out, &n);
	if (rc == PCRE2_ERROR_NOMEMORY) {
		if (gs_buf_reserve(out, n) < 0)
			return -1;
		rc = subst(nv, id, s, len, out, &n);
	}
	if (rc < 0)
		return -1;
	out->len = n;
	return rc;
}
