/* SPDX-License-Identifier: MIT */
/* The upstream client through the public API, against fake-mistral:
 * settings errors, one client shared by threads (with a refused key and
 * connection reuse), rotation by time, and gs_call_roundtrip. */
#include "config.h"
#include <guardstack.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../tap.h"

#define NTHREADS 4
#define NPOSTS 8

static char dir[] = "/tmp/gs-up-XXXXXX";
static char logpath[256], base[128];
static pid_t fake;

static void stop_fake(void)
{
	if (fake > 0) {
		kill(fake, SIGTERM);
		waitpid(fake, NULL, 0);
	}
}

static int start_fake(void)
{
	char bin[1024], portf[256], port[16] = "";
	const char *top = getenv("top_builddir");

	snprintf(bin, sizeof bin, "%s/tests/fake-mistral/fake-mistral",
		 top ? top : ".");
	snprintf(portf, sizeof portf, "%s/port", dir);
	snprintf(logpath, sizeof logpath, "%s/requests.log", dir);
	fake = fork();
	if (fake == 0) {
		execl(bin, bin, "--port-file", portf, "--log", logpath,
		      "--lifetime", "120", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(portf, "r");
		if (f) {
			int ok = fgets(port, sizeof port, f) != NULL;
			fclose(f);
			if (ok)
				break;
		}
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
	}
	port[strcspn(port, "\n")] = '\0';
	snprintf(base, sizeof base, "http://127.0.0.1:%s", port);
	return *port ? 0 : -1;
}

/* Values of one field of the logged requests from line `from` on. */
static int logged(const char *field, int from, char out[][128], int max)
{
	FILE *f = fopen(logpath, "r");
	char line[65536];
	int n = 0, k = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		cJSON *j;
		const cJSON *v;

		if (k++ < from)
			continue;
		j = cJSON_Parse(line);
		v = cJSON_GetObjectItemCaseSensitive(j, field);
		if (n < max) {
			if (cJSON_IsString(v))
				snprintf(out[n], 128, "%s", v->valuestring);
			else if (cJSON_IsNumber(v))
				snprintf(out[n], 128, "%.0f", v->valuedouble);
			else
				out[n][0] = '\0';
		}
		n++;
		cJSON_Delete(j);
	}
	fclose(f);
	return n;
}

static int new_client(gs_upstream **u, const char *script, const char *ks,
		      const char *rotate)
{
	char url[256];
	const char *k[] = { "url", "keys", "rotate_after", "backoff_ms" };
	const char *v[] = { url, ks, rotate, "10" };
	char *err = NULL;
	int rc;

	snprintf(url, sizeof url, "%s/%s/v1/chat/completions", base, script);
	rc = gs_upstream_new(u, 4, k, v, NULL, NULL, &err);
	if (rc < 0)
		printf("# %s\n", err);
	gs_free(err);
	return rc;
}

static const char body[] = "{\"model\":\"m\",\"messages\":[{\"role\":"
			   "\"user\",\"content\":\"hi\"}]}";

static gs_upstream *shared;

static void *worker(void *arg)
{
	long bad = 0;

	(void)arg;
	for (int i = 0; i < NPOSTS; i++) {
		gs_upstream_result r;
		char *err = NULL;

		if (gs_upstream_post(shared, body, strlen(body), &r, &err) < 0
		    || !r.body || !strstr(r.body, "echo: hi"))
			bad++;
		gs_upstream_result_clear(&r);
		gs_free(err);
	}
	return (void *)bad;
}

static void test_settings(void)
{
	gs_upstream *u = NULL;
	char *err = NULL;
	size_t bad = 99;
	const char *k1[] = { "url", "timeout" }, *v1[] = { "https://x/", "0" };
	const char *k2[] = { "retries", "colour" }, *v2[] = { "1", "blue" };
	const char *k3[] = { "keys" };
	const char *v3[] = { "env:A, sk-LITERAL-0123456789abcdef" };
	const char *k4[] = { "url" }, *v4[] = { "http://10.0.0.1/v1" };

	is_int(gs_upstream_new(&u, 2, k1, v1, NULL, &bad, &err), GS_EINVAL,
	       "timeout = 0 refused");
	is_int(bad, 1, "the bad setting's index is given");
	has_str(err, "timeout = '0': expected seconds from 1 to 3600",
		"timeout range in the message");
	gs_free(err);
	err = NULL;
	is_int(gs_upstream_new(&u, 2, k2, v2, NULL, &bad, &err), GS_EINVAL,
	       "unknown setting refused");
	is_int(bad, 1, "unknown setting's index");
	gs_free(err);
	err = NULL;
	is_int(gs_upstream_new(&u, 1, k3, v3, NULL, &bad, &err), GS_EINVAL,
	       "a literal key is refused");
	has_str(err, "entry 2 is not a key source", "names the entry");
	ok(err && !strstr(err, "LITERAL"), "does not repeat the literal");
	gs_free(err);
	err = NULL;
	is_int(gs_upstream_new(&u, 1, k4, v4, NULL, &bad, &err), GS_EINVAL,
	       "plain http to a non-loopback host refused");
	gs_free(err);
	ok(u == NULL, "no client on failure");
}

static void test_threads(void)
{
	pthread_t t[NTHREADS];
	char auth[256][128], conn[256][128];
	long bad = 0;
	int n, nconn = 0, nbad = 0;

	setenv("UT_K1", "sk-BAD-unit-1", 1);
	setenv("UT_K2", "sk-unit-good-2", 1);
	if (new_client(&shared, "ok", "env:UT_K1, env:UT_K2", "0") < 0) {
		ok(0, "client for the threads");
		return;
	}
	for (long i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < NTHREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	is_int(bad, 0, "%d threads x %d posts on one client all answered",
	       NTHREADS, NPOSTS);
	n = logged("auth", 0, auth, 256);
	logged("conn", 0, conn, 256);
	for (int i = 0; i < n && i < 256; i++) {
		int seen = 0;

		nbad += !strcmp(auth[i], "Bearer sk-BAD-unit-1");
		for (int k = 0; k < i; k++)
			seen |= !strcmp(conn[k], conn[i]);
		nconn += !seen;
	}
	ok(nbad >= 1 && nbad <= NTHREADS, "the refused key was tried at most "
	   "once per thread (%d times)", nbad);
	is_int(n - nbad, NTHREADS * NPOSTS, "every post then used the good "
	       "key");
	ok(nconn <= NTHREADS + 2, "connections reused: %d connections for "
	   "%d requests", nconn, n);
	gs_upstream_free(shared);
}

static void test_rotation(void)
{
	gs_upstream *u;
	gs_upstream_result r;
	char auth[8][128], fp[3][9];
	int from = logged("auth", 0, auth, 0);

	setenv("UT_A", "sk-unit-A", 1);
	setenv("UT_B", "sk-unit-B", 1);
	/* rotate after 3 s, sleep 3.2: the third request must come within
	 * 2.8 s of the second, which it does even under ThreadSanitizer on
	 * a busy machine (with 1 s and 1.2 s it once did not) */
	if (new_client(&u, "ok", "env:UT_A,env:UT_B", "3") < 0) {
		ok(0, "client for rotation");
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (i == 1) {
			struct timespec ts = { 3, 200000000 };
			nanosleep(&ts, NULL);
		}
		gs_upstream_post(u, body, strlen(body), &r, NULL);
		snprintf(fp[i], sizeof fp[i], "%s", r.key_fingerprint);
		gs_upstream_result_clear(&r);
	}
	logged("auth", from, auth, 8);
	is_str(auth[0], "Bearer sk-unit-A", "first key first");
	is_str(auth[1], "Bearer sk-unit-B", "after rotate_after, the next");
	is_str(auth[2], "Bearer sk-unit-B", "and it stays until the next "
	       "rotation");
	ok(strlen(fp[0]) == 8 && strcmp(fp[0], fp[1]) && !strcmp(fp[1], fp[2]),
	   "fingerprints: 8 hex digits, one per key");
	gs_upstream_free(u);
}

static void test_roundtrip(void)
{
	char path[256], *err = NULL, *js;
	gs_stack *st;
	gs_call *c;
	FILE *f;
	int rc;

	snprintf(path, sizeof path, "%s/rt.ini", dir);
	f = fopen(path, "w");
	fprintf(f, "[upstream]\nurl = %s/ok/v1/chat/completions\n"
		"keys = env:UT_K2\nmodel = unit-model\n", base);
	fclose(f);
	if (gs_stack_load(&st, path, 0, &err) < 0) {
		ok(0, "stack: %s", err);
		gs_free(err);
		return;
	}
	c = gs_call_new(st);
	is_int(gs_call_upstream(c, &err), GS_ESTATE,
	       "upstream before the request phase: GS_ESTATE");
	gs_free(err);
	err = NULL;
	gs_call_add_message(c, "user", "ping", 4, NULL);
	rc = gs_call_roundtrip(c, &err);
	is_int(rc, GS_OUTCOME_PASS, "roundtrip passes");
	is_str(gs_call_text(c, GS_PHASE_RESPONSE, 0, NULL), "echo: ping",
	       "roundtrip: the upstream's answer");
	is_int(gs_call_upstream_status(c), 200, "upstream status 200");
	ok(gs_call_key_fingerprint(c) &&
	   strlen(gs_call_key_fingerprint(c)) == 8, "key fingerprint kept");
	js = gs_call_response_json(c);
	has_str(js, "\"prompt_tokens\":4", "usage kept in the response");
	gs_free(js);
	gs_call_free(c);

	c = gs_call_new(st);
	js = "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":"
	     "\"x\"}]}";
	gs_call_set_request_json(c, js, strlen(js), 0, NULL);
	gs_call_run(c, GS_PHASE_REQUEST);
	is_int(gs_call_upstream(c, &err), GS_EINVAL, "stream: true refused");
	is_int(gs_call_outcome(c), GS_OUTCOME_ERROR, "the call is closed");
	has_str(gs_call_reason(c), "stream", "reason says why");
	gs_free(err);
	gs_call_free(c);
	gs_stack_free(st);
}

/* Loads a stack made of `text`; checks the code and the message. */
static void load(const char *name, const char *text, int want,
		 const char *msg)
{
	char path[256], *err = NULL;
	gs_stack *st = NULL;
	FILE *f;
	int rc;

	snprintf(path, sizeof path, "%s/%s.ini", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	rc = gs_stack_load(&st, path, 0, &err);
	is_int(rc, want, "%s: load returns %d", name, want);
	if (msg)
		has_str(err, msg, "%s: message", name);
	gs_free(err);
	gs_stack_free(st);
	unlink(path);
}

static void test_config(void)
{
	char path[256], *err = NULL;
	gs_stack *st;
	FILE *f;

	load("remote", "[upstream]\nurl = http://example.com/v1\n",
	     GS_EINVAL, "remote.ini:2: [upstream]: url: plain http:// is "
	     "allowed only to loopback addresses (host example.com)");
	load("lo6", "[upstream]\nurl = http://[::1]:9/v1\n", GS_OK, NULL);
	load("lo4", "[upstream]\nurl = http://127.9.9.9/v1\n", GS_OK, NULL);
	load("lohost", "[upstream]\nurl = http://localhost/v1\n", GS_OK,
	     NULL);
	load("tricky", "[upstream]\nurl = http://127.0.0.1.example.com/\n",
	     GS_EINVAL, "only to loopback");
	load("scheme", "[upstream]\nurl = ftp://example.com/\n", GS_EINVAL,
	     "scheme ftp: only http:// and https://");
	load("userinfo", "[upstream]\nurl = https://u:sk-SECRET@x.org/\n",
	     GS_EINVAL, "url: user or password in the URL");
	load("timeout", "[upstream]\nretries = 1\ntimeout = 0\n", GS_EINVAL,
	     "timeout.ini:3: [upstream]: timeout = '0': expected seconds "
	     "from 1 to 3600");
	load("mrb", "[upstream]\nmax_response_bytes = 10\n", GS_EINVAL,
	     "max_response_bytes = '10': expected bytes from 1024");
	load("bool", "[upstream]\nallow_http = maybe\n", GS_EINVAL,
	     "allow_http = 'maybe': expected yes or no");
	load("ca", "[upstream]\nca_file = no-such.pem\n", GS_EINVAL,
	     "ca.ini:2: [upstream]: ca_file: ");
	load("offkeys", "[upstream]\nurl = offline\nkeys = env:X\n",
	     GS_EINVAL, "offkeys.ini:3: [upstream]: keys has no effect with "
	     "url = offline");
	load("reply", "[upstream]\nreply_file = r.txt\n", GS_EINVAL,
	     "reply_file applies only to url = offline");
	load("noreply", "[upstream]\nurl = offline\nreply_file = none.txt\n",
	     GS_EIO, "noreply.ini:3: [upstream]: reply_file: ");
	load("envname", "[upstream]\nkeys = env:sk-abc\n", GS_EINVAL,
	     "keys: entry 1: env: needs a variable name");
	load("empty", "[upstream]\nkeys = env:A,,env:B\n", GS_EINVAL,
	     "keys: entry 2 is empty");
	load("quote", "[upstream]\nkeys = cmd:pass 'x\n", GS_EINVAL,
	     "keys: entry 1: unmatched quote");
	load("mod-threshold", "[m]\nmodule = mistral-moderation\n"
	     "sexual = 2\n", GS_EINVAL, "mod-threshold.ini:3: [m]: sexual = "
	     "'2': expected a score above 0 and at most 1");
	load("mod-unknown", "[m]\nmodule = mistral-moderation\n"
	     "threshold = 0.5\n", GS_EINVAL, "unknown key 'threshold'");
	load("mod-timeout", "[m]\nmodule = mistral-moderation\n"
	     "timeout = 99999\n", GS_EINVAL, "mod-timeout.ini:3: [m]: "
	     "timeout = '99999'");

	/* The including file's [upstream] replaces an included one. */
	snprintf(path, sizeof path, "%s/inner.ini", dir);
	f = fopen(path, "w");
	fputs("[upstream]\nurl = offline\nmodel = inner\n", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/outer.ini", dir);
	f = fopen(path, "w");
	fputs("[stack]\ninclude = inner.ini\n[upstream]\n"
	      "url = http://127.0.0.1:9/v1\nmodel = outer\n", f);
	fclose(f);
	if (gs_stack_load(&st, path, 0, &err) == 0) {
		is_str(gs_stack_model(st), "outer", "the including file's "
		       "[upstream] wins");
		ok(gs_stack_upstream(st) != NULL, "whole: not offline");
		gs_stack_free(st);
	} else {
		ok(0, "include: %s", err);
	}
	gs_free(err);
	unlink(path);
	snprintf(path, sizeof path, "%s/inner.ini", dir);
	unlink(path);
}

int main(void)
{
	if (!mkdtemp(dir) || start_fake() < 0) {
		printf("Bail out! fake-mistral did not start\n");
		stop_fake();
		return 1;
	}
	test_settings();
	test_config();
	test_threads();
	test_rotation();
	test_roundtrip();
	stop_fake();
	unlink(logpath);
	{
		char p[300];
		snprintf(p, sizeof p, "%s/port", dir);
		unlink(p);
		snprintf(p, sizeof p, "%s/rt.ini", dir);
		unlink(p);
	}
	rmdir(dir);
	return done_testing();
}
