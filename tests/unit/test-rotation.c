/* SPDX-License-Identifier: MIT */
/*
 * Key rotation under concurrent 401s, against fake-mistral: 8 threads
 * share one client whose first three keys are refused (401, 403, 401)
 * and whose fourth is good, all starting at once.  What fake-mistral
 * logged must show the keys handed out in order:
 *   - key i+1 is first seen only after key i (a key is never skipped:
 *     that would be two threads each moving the ring on for one refusal);
 *   - each thread tries its keys in increasing order, none twice, and
 *     ends on the good one;
 *   - each refused key is tried at most once per thread;
 *   - afterwards the ring stays on the good key: the next post needs one
 *     request.
 * Repeated for ROUNDS fresh clients, then once with every key refused:
 * each thread fails with one message after at most one try per key.
 */
#include "config.h"
#include <guardstack.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../tap.h"
#include "fake.h"

#define NTHREADS 8
#define NKEYS 4
#define ROUNDS 20

static char dir[] = "/tmp/gs-rot-XXXXXX";
static char logpath[256], base[128];

/* ---- threads ----------------------------------------------------------- */

struct worker {
	pthread_t t;
	int id, round;
	int rc;
	unsigned attempts;
	char fp[9];
	char *err;
};

static gs_upstream *client;
static pthread_barrier_t start;

static void *work(void *arg)
{
	struct worker *w = arg;
	gs_upstream_result r;
	char body[160];

	snprintf(body, sizeof body, "{\"model\":\"m\",\"messages\":[{\"role\":"
		 "\"user\",\"content\":\"t%d-r%d\"}]}", w->id, w->round);
	pthread_barrier_wait(&start);
	w->rc = gs_upstream_post(client, body, strlen(body), &r, &w->err);
	w->attempts = r.attempts;
	memcpy(w->fp, r.key_fingerprint, sizeof w->fp);
	gs_upstream_result_clear(&r);
	return NULL;
}

static int new_client(const char *keys)
{
	char url[256], *err = NULL;
	const char *k[] = { "url", "keys", "rotate_after", "retries" };
	const char *v[] = { url, keys, "0", "0" };
	int rc;

	snprintf(url, sizeof url, "%s/ok/v1/chat/completions", base);
	rc = gs_upstream_new(&client, 4, k, v, NULL, NULL, &err);
	if (rc < 0)
		printf("# %s\n", err);
	gs_free(err);
	return rc;
}

static void run_threads(struct worker *w, int round)
{
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (int k = 0; k < NTHREADS; k++) {
		memset(&w[k], 0, sizeof w[k]);
		w[k].id = k;
		w[k].round = round;
		pthread_create(&w[k].t, NULL, work, &w[k]);
	}
	for (int k = 0; k < NTHREADS; k++)
		pthread_join(w[k].t, NULL);
	pthread_barrier_destroy(&start);
}

/* ---- the log ----------------------------------------------------------- */

/* For the requests of round r, in the order fake-mistral got them: the
 * key number (1..NKEYS, 0 for none of ours) and the thread (-1: main). */
static int requests(int r, int *key, int *thread, int max)
{
	FILE *f = fopen(logpath, "r");
	char *line = NULL, tag[32];
	size_t cap = 0;
	int n = 0;

	if (!f)
		return 0;
	snprintf(tag, sizeof tag, "-r%d-", r);
	while (getline(&line, &cap, f) > 0 && n < max) {
		cJSON *j = cJSON_Parse(line);
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "auth");
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "body");
		const char *p;
		int t;

		if (cJSON_IsString(a) && (p = strstr(a->valuestring, tag))) {
			key[n] = atoi(p + strlen(tag));
			p = cJSON_IsString(b) ? strstr(b->valuestring, "\"t")
					      : NULL;
			thread[n] = p && sscanf(p + 2, "%d", &t) == 1 ? t : -1;
			n++;
		}
		cJSON_Delete(j);
	}
	free(line);
	fclose(f);
	return n;
}

/* ---- the tests --------------------------------------------------------- */

static void set_keys(int r, const char *const *prefix)
{
	for (int i = 0; i < NKEYS; i++) {
		char name[16], val[64];

		snprintf(name, sizeof name, "ROT_K%d", i + 1);
		snprintf(val, sizeof val, "%s-r%d-%d", prefix[i], r, i + 1);
		setenv(name, val, 1);
	}
}

static void test_rotation(void)
{
	static const char *const prefix[NKEYS] = { "sk-BAD", "sk-FORBID",
						   "sk-BAD", "sk-good" };
	struct worker w[NTHREADS];
	int bad_rc = 0, bad_fp = 0, skipped = 0, misordered = 0;
	int thread_order = 0, repeats = 0, not_settled = 0, extra_good = 0;
	int total = 0;

	for (int r = 0; r < ROUNDS; r++) {
		int key[512], thread[512], n, first[NKEYS + 1];
		int seen[NTHREADS][NKEYS + 1], last[NTHREADS];
		int ngood = 0;
		gs_upstream_result res;

		set_keys(r, prefix);
		if (new_client("env:ROT_K1, env:ROT_K2, env:ROT_K3, "
			       "env:ROT_K4") < 0) {
			ok(0, "client for round %d", r);
			return;
		}
		run_threads(w, r);
		for (int k = 0; k < NTHREADS; k++) {
			if (w[k].rc != GS_OK) {
				bad_rc++;
				printf("# round %d thread %d: %s\n", r, k,
				       w[k].err ? w[k].err : "?");
			}
			bad_fp += strcmp(w[k].fp, w[0].fp) != 0;
			gs_free(w[k].err);
		}
		/* The ring settled on the good key. */
		memset(&res, 0, sizeof res);
		if (gs_upstream_post(client, "{}", 2, &res, NULL) < 0 ||
		    res.attempts != 1 || strcmp(res.key_fingerprint, w[0].fp))
			not_settled++;
		gs_upstream_result_clear(&res);
		gs_upstream_free(client);

		n = requests(r, key, thread, 512);
		total += n;
		memset(first, -1, sizeof first);
		memset(seen, 0, sizeof seen);
		memset(last, 0, sizeof last);
		for (int i = 0; i < n; i++) {
			int k = key[i], t = thread[i];

			if (k < 1 || k > NKEYS)
				continue;
			if (first[k] < 0)
				first[k] = i;
			ngood += k == NKEYS;
			if (t < 0 || t >= NTHREADS)
				continue;
			repeats += seen[t][k]++ > 0;
			thread_order += k <= last[t];
			last[t] = k;
		}
		for (int k = 1; k <= NKEYS; k++) {
			skipped += first[k] < 0;
			misordered += k > 1 && first[k] >= 0 &&
				      first[k] < first[k - 1];
		}
		for (int t = 0; t < NTHREADS; t++)
			thread_order += last[t] != NKEYS;
		extra_good += ngood != NTHREADS + 1;
	}
	printf("# %d rounds x %d threads, %d keys: %d requests\n", ROUNDS,
	       NTHREADS, NKEYS, total);
	is_int(bad_rc, 0, "every thread got an answer");
	is_int(bad_fp, 0, "every thread's answer came with the good key's "
	       "fingerprint");
	is_int(skipped, 0, "no key was skipped (no double rotation)");
	is_int(misordered, 0, "keys were first handed out in order");
	is_int(thread_order, 0, "each thread tried keys in increasing order, "
	       "ending on the good one");
	is_int(repeats, 0, "no thread tried a key twice");
	is_int(extra_good, 0, "the good key answered each thread once, and "
	       "the post after");
	is_int(not_settled, 0, "afterwards the ring stays on the good key");
}

static void test_all_refused(void)
{
	static const char *const prefix[NKEYS] = { "sk-BAD", "sk-FORBID",
						   "sk-BAD", "sk-FORBID" };
	struct worker w[NTHREADS];
	int wrong = 0, too_many = 0, key[512], thread[512], n;

	set_keys(ROUNDS, prefix);
	if (new_client("env:ROT_K1, env:ROT_K2, env:ROT_K3, env:ROT_K4") < 0) {
		ok(0, "client for all-refused");
		return;
	}
	run_threads(w, ROUNDS);
	for (int k = 0; k < NTHREADS; k++) {
		if (w[k].rc != GS_EUPSTREAM || !w[k].err ||
		    !strstr(w[k].err, "for all 4 keys")) {
			wrong++;
			printf("# thread %d: rc %d, %s\n", k, w[k].rc,
			       w[k].err ? w[k].err : "(no message)");
		}
		too_many += w[k].attempts > NKEYS;
		gs_free(w[k].err);
	}
	gs_upstream_free(client);
	n = requests(ROUNDS, key, thread, 512);
	is_int(wrong, 0, "every key refused: each thread fails, \"for all 4 "
	       "keys\"");
	is_int(too_many, 0, "no thread made more requests than there are "
	       "keys");
	ok(n >= NKEYS && n <= NTHREADS * NKEYS, "%d requests in all (%d to "
	   "%d)", n, NKEYS, NTHREADS * NKEYS);
}

int main(void)
{
	if (!mkdtemp(dir) || fake_start(dir, base, sizeof base, logpath,
					sizeof logpath, 300) < 0) {
		printf("Bail out! fake-mistral did not start\n");
		fake_stop();
		return 1;
	}
	test_rotation();
	test_all_refused();
	fake_stop();
	unlink(logpath);
	rmdir(dir);
	return done_testing();
}
