/* SPDX-License-Identifier: MIT */
/*
 * upstream.c - the HTTP client: POSTs the filtered request to a
 * chat-completions endpoint with libcurl and turns whatever comes back
 * into an answer or one clear line.
 *
 * Connections are reused: a client keeps a few idle curl handles (curl
 * keeps its open connections in the handle), taken and given back under
 * a mutex, so no two threads ever share one.  TLS peer and host checks
 * are always on; redirects are never followed, so the Authorization
 * header cannot travel to another host; plain http goes only to loopback
 * unless the stack says allow_http.  429, 5xx and broken connections are
 * retried with exponential backoff and jitter, or after the server's
 * Retry-After; 401 and 403 move on to the next key.
 */
#include "upstream.h"
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define POOL_MAX 4          /* idle handles kept per client */
#define ERROR_LINE_MAX 200  /* bytes of an error body shown */

struct gs_upstream {
	char *url;
	long timeout, connect_timeout, retries, backoff_ms, max_backoff;
	size_t max_response;
	char *ca_file;
	struct gs__keyring *keys;
	pthread_mutex_t lock;
	CURL *idle[POOL_MAX];
	size_t nidle;
};

/* curl_global_init is not safe to race with itself on older libcurl:
 * run it once, on first use.  Never undone: the process may hold other
 * curl users. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- URLs ------------------------------------------------------------- */

static int loopback_host(const char *h)
{
	unsigned char a[16];
	char v6[64];
	size_t n = strlen(h);

	if (!strcasecmp(h, "localhost"))
		return 1;
	if (inet_pton(AF_INET, h, a) == 1)
		return a[0] == 127;
	if (n > 2 && n < sizeof v6 && h[0] == '[' && h[n - 1] == ']') {
		memcpy(v6, h + 1, n - 2);
		v6[n - 2] = '\0';
		h = v6;
	}
	if (inet_pton(AF_INET6, h, a) == 1) {
		static const unsigned char lo[16] = { [15] = 1 };
		return !memcmp(a, lo, 16);
	}
	return 0;
}

int gs__url_check(const char *url, const char *what, int allow_http,
		  char **err)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *user = NULL;
	int rc = GS_OK;

	u = curl_url();
	if (!u)
		return gs__err(err, GS_ENOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = gs__err(err, GS_EINVAL, "%s: not an absolute http:// or "
			     "https:// URL", what);
		goto out;
	}
	/* Credentials in a URL would be printed by check and in errors. */
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		rc = gs__err(err, GS_EINVAL, "%s: user or password in the "
			     "URL; give keys with keys = instead", what);
		goto out;
	}
	if (strcmp(scheme, "https") && strcmp(scheme, "http")) {
		rc = gs__err(err, GS_EINVAL, "%s: scheme %s: only http:// and "
			     "https:// are supported", what, scheme);
		goto out;
	}
	if (!strcmp(scheme, "http") && !allow_http && !loopback_host(host))
		rc = gs__err(err, GS_EINVAL, "%s: plain http:// is allowed "
			     "only to loopback addresses (host %s); use "
			     "https:// or set allow_http = yes", what, host);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(u);
	return rc;
}

/* ---- error bodies ----------------------------------------------------- */

/* The most telling string in an error object, or NULL. */
static char *error_text(const cJSON *o)
{
	static const char *const keys[] = { "message", "error", "detail",
					     "msg" };

	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[i]);

		if (cJSON_IsString(v) && *v->valuestring)
			return gs_strndup(v->valuestring,
					  strlen(v->valuestring));
		if (cJSON_IsObject(v)) {
			char *t = error_text(v);
			if (t)
				return t;
		}
		/* FastAPI's validation errors: [{"msg": ...}, ...] */
		if (cJSON_IsArray(v) && cJSON_IsObject(v->child)) {
			char *t = error_text(v->child);
			if (t)
				return t;
		}
		if (v && !cJSON_IsNull(v) && !cJSON_IsBool(v))
			return cJSON_PrintUnformatted(v);
	}
	return NULL;
}

char *gs__error_line(const char *body, size_t len)
{
	cJSON *j;
	char *text = NULL;
	const char *s = body;
	gs_buf out = GS_BUF_INIT;
	int space = 0;

	if (!body || !len)
		return NULL;
	j = cJSON_ParseWithLength(body, len);
	if (cJSON_IsObject(j) && (text = error_text(j)))
		s = text, len = strlen(text);
	cJSON_Delete(j);
	for (size_t i = 0; i < len && out.len < ERROR_LINE_MAX;) {
		unsigned char c = (unsigned char)s[i];
		size_t ok;

		if (c < 0x20 || c == 0x7f) {
			space = out.len > 0;
			i++;
			continue;
		}
		if (c == ' ') {
			space = out.len > 0;
			i++;
			continue;
		}
		if (space && gs_buf_putc(&out, ' ') < 0)
			break;
		space = 0;
		if (c < 0x80) {
			if (gs_buf_putc(&out, (char)c) < 0)
				break;
			i++;
			continue;
		}
		/* One whole UTF-8 sequence, or '?' for a bad byte. */
		ok = gs_utf8_check(s + i, len - i > 4 ? 4 : len - i);
		ok = ok ? gs_utf8_floor(s + i, ok, ok) : 0;
		if (!ok) {
			if (gs_buf_putc(&out, '?') < 0)
				break;
			i++;
		} else {
			size_t k = 1;
			while (k < ok && ((unsigned char)s[i + k] & 0xc0) ==
			       0x80)
				k++;
			if (gs_buf_append(&out, s + i, k) < 0)
				break;
			i += k;
		}
	}
	if (out.len >= ERROR_LINE_MAX) {
		out.len = gs_utf8_floor(out.data, out.len, ERROR_LINE_MAX);
		out.data[out.len] = '\0';
		gs_buf_puts(&out, "...");
	}
	gs_free(text);
	return out.len ? gs_buf_steal(&out, NULL) : (gs_buf_free(&out), NULL);
}

/* Replaces every copy of the key in msg with its fingerprint: an error
 * body may echo the request's headers (some proxies do). */
static void scrub(char **msg, const struct gs__key *k)
{
	gs_buf b = GS_BUF_INIT;
	const char *p, *hit;

	if (!*msg || !k->s || !k->len || !strstr(*msg, k->s))
		return;
	for (p = *msg; (hit = strstr(p, k->s)); p = hit + k->len)
		if (gs_buf_append(&b, p, (size_t)(hit - p)) < 0 ||
		    gs_buf_printf(&b, "[key %s]", k->fp) < 0)
			break;
	if (!hit && gs_buf_puts(&b, p) >= 0) {
		gs__wipe(*msg, strlen(*msg));
		gs_free(*msg);
		*msg = gs_buf_steal(&b, NULL);
		return;
	}
	gs_buf_free(&b);
	gs__wipe(*msg, strlen(*msg));
	gs_free(*msg);
	*msg = gs__fmt("upstream error (message withheld: it held the key)");
}

/* ---- one exchange ----------------------------------------------------- */

struct xfer {
	gs_buf body;
	size_t max;
	int too_big;
	int secret;          /* body may hold a secret: wipe as it grows */
	long retry_after;    /* seconds, or -1 */
	char errbuf[CURL_ERROR_SIZE];
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = sz * n;

	if (len > x->max - x->body.len) {
		x->too_big = 1;
		return 0;
	}
	if ((x->secret ? gs__secret_append(&x->body, p, len)
		       : gs_buf_append(&x->body, p, len)) < 0)
		return 0;
	return len;
}

/* Retry-After: delay-seconds or an HTTP-date (RFC 9110 10.2.3). */
static long parse_retry_after(const char *v, size_t n)
{
	char buf[64];
	size_t a = 0, b = n, k;
	time_t t;

	while (a < b && (v[a] == ' ' || v[a] == '\t'))
		a++;
	while (b > a && strchr(" \t\r\n", v[b - 1]))
		b--;
	if (a == b || b - a >= sizeof buf)
		return -1;
	memcpy(buf, v + a, b - a);
	buf[b - a] = '\0';
	for (k = 0; buf[k] >= '0' && buf[k] <= '9'; k++)
		;
	if (!buf[k])
		return k > 7 ? 9999999 : strtol(buf, NULL, 10);
	t = curl_getdate(buf, NULL);
	if (t == (time_t)-1)
		return -1;
	t -= time(NULL);
	return t < 0 ? 0 : t > 9999999 ? 9999999 : (long)t;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = sz * n;

	if (len >= 5 && !strncasecmp(p, "HTTP/", 5))
		x->retry_after = -1; /* a new answer starts */
	else if (len > 12 && !strncasecmp(p, "Retry-After:", 12))
		x->retry_after = parse_retry_after(p + 12, len - 12);
	return len;
}

struct req {
	const char *url;
	const char *body;        /* NULL: GET */
	size_t len;
	struct curl_slist *headers;
	long timeout, connect_timeout;
	const char *ca_file;
};

/* curl_easy_perform without SIGPIPE: with CURLOPT_NOSIGNAL (needed in
 * threads) curl leaves signals alone, and a peer that closes a TLS
 * connection can make OpenSSL's write raise SIGPIPE, which would kill the
 * program.  It is blocked in this thread only, and one it raised is
 * consumed before the mask comes back, as libpq does. */
static CURLcode perform_quiet(CURL *h)
{
	sigset_t mask, old, pend;
	int was_pending;
	CURLcode rc;

	sigemptyset(&mask);
	sigaddset(&mask, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	sigpending(&pend);
	was_pending = sigismember(&pend, SIGPIPE);
	rc = curl_easy_perform(h);
	if (!was_pending) {
		struct timespec zero = { 0, 0 };

		sigpending(&pend);
		if (sigismember(&pend, SIGPIPE))
			sigtimedwait(&mask, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static CURLcode perform(CURL *h, const struct req *rq, struct xfer *x,
			long *status)
{
	CURLcode rc;

	curl_easy_reset(h);
	x->errbuf[0] = '\0';
	x->retry_after = -1;
	x->too_big = 0;
	*status = -1;
	curl_easy_setopt(h, CURLOPT_URL, rq->url);
	if (rq->body) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)rq->len);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, rq->headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, rq->timeout * 1000);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 rq->connect_timeout * 1000);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no alarm */
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (rq->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, rq->ca_file);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "guardstack/" PACKAGE_VERSION);
	rc = perform_quiet(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	if (*status == 0)
		*status = -1;
	/* The list is ours and is about to be wiped and freed. */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	if (rc == CURLE_FILESIZE_EXCEEDED)
		x->too_big = 1;
	return rc;
}

/* Wipes header values (one carries the key) before curl frees them. */
static void headers_free(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		gs__wipe(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static const char *curl_why(CURLcode rc, const struct xfer *x)
{
	return x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
}

int gs__http_get(const char *url, const char *header, long timeout,
		 const char *ca_file, size_t max, gs_buf *body,
		 long *status, char **err)
{
	struct xfer x = { .max = max, .secret = 1 };
	struct req rq = { .url = url, .timeout = timeout,
			  .connect_timeout = timeout, .ca_file = ca_file };
	struct curl_slist *l = NULL, *t;
	CURL *h;
	CURLcode rc;

	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK || !(h = curl_easy_init()))
		return gs__err(err, GS_ENOMEM, "cannot start libcurl");
	if (header) {
		t = curl_slist_append(l, header);
		if (!t) {
			curl_easy_cleanup(h);
			return gs__err(err, GS_ENOMEM, "out of memory");
		}
		l = t;
	}
	rq.headers = l;
	rc = perform(h, &rq, &x, status);
	headers_free(l);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK) {
		gs__buf_wipe_free(&x.body);
		if (x.too_big)
			return gs__err(err, GS_EUPSTREAM, "answer larger than "
				       "%zu bytes", max);
		return gs__err(err, GS_EUPSTREAM, "%s", curl_why(rc, &x));
	}
	*body = x.body;
	return GS_OK;
}

/* ---- the client ------------------------------------------------------- */

static CURL *take_handle(gs_upstream *u)
{
	CURL *h = NULL;

	pthread_mutex_lock(&u->lock);
	if (u->nidle)
		h = u->idle[--u->nidle];
	pthread_mutex_unlock(&u->lock);
	return h ? h : curl_easy_init();
}

static void give_handle(gs_upstream *u, CURL *h)
{
	pthread_mutex_lock(&u->lock);
	if (u->nidle < POOL_MAX) {
		u->idle[u->nidle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&u->lock);
	if (h)
		curl_easy_cleanup(h);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Exponential backoff with "equal jitter": half the step is fixed, half
 * random, so waits grow but clients do not retry in step. */
static long backoff(const gs_upstream *u, long retry)
{
	long cap = u->max_backoff * 1000, d = u->backoff_ms;
	unsigned int r = 0;

	for (long i = 0; i < retry && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	gs_random(&r, sizeof r);
	return d / 2 + (long)(r % (unsigned)(d / 2 + 1));
}

static int retryable_transport(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_SEND_ERROR ||
	       rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
	       rc == CURLE_PARTIAL_FILE;
}

/* Sets *err to a message built while the key is known, scrubbed of it. */
static int fail(char **err, const struct gs__key *k, int code,
		const char *fmt, ...) GS_PRINTF(4, 5);
static int fail(char **err, const struct gs__key *k, int code,
		const char *fmt, ...)
{
	va_list ap;
	char *m;

	va_start(ap, fmt);
	m = gs__vfmt(fmt, ap);
	va_end(ap);
	scrub(&m, k);
	if (err && !*err)
		*err = m;
	else
		gs_free(m);
	return code;
}

static const char *after(long retries, char *buf, size_t n)
{
	if (!retries)
		return "";
	snprintf(buf, n, " after %ld retr%s", retries,
		 retries == 1 ? "y" : "ies");
	return buf;
}

int gs_upstream_post(gs_upstream *u, const char *body, size_t len,
		     gs_upstream_result *r, char **errmsg)
{
	unsigned char tried[GS__MAX_KEYS] = { 0 };
	size_t nkeys = gs__keyring_count(u->keys), ntried = 0;
	struct req rq = { .url = u->url, .body = body, .len = len,
			  .timeout = u->timeout,
			  .connect_timeout = u->connect_timeout,
			  .ca_file = u->ca_file };
	long retry = 0;
	int rc = GS_EUPSTREAM;
	CURL *h;

	if (errmsg)
		*errmsg = NULL;
	memset(r, 0, sizeof *r);
	r->status = -1;
	/* Only now: loading a stack must not cost curl's (and OpenSSL's)
	 * global start-up when nothing is sent. */
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK || !(h = take_handle(u)))
		return gs__err(errmsg, GS_ENOMEM, "cannot start libcurl");
	for (;;) {
		struct gs__key key;
		struct xfer x = { .max = u->max_response };
		struct curl_slist *l = NULL;
		gs_buf auth = GS_BUF_INIT;
		char *why = NULL, tail[48];
		const char *sep, *w;
		CURLcode cc;
		long status, wait = -1;

		rc = gs__keyring_get(u->keys, &key, errmsg);
		if (rc < 0)
			break;
		if (tried[key.index]) {
			/* Another thread moved the ring back to a key this
			 * call already saw refused. */
			rc = fail(errmsg, &key, GS_EUPSTREAM, "upstream "
				  "returned %d for all %zu keys", r->status,
				  nkeys);
			gs__key_clear(&key);
			break;
		}
		memcpy(r->key_fingerprint, key.fp, sizeof key.fp);
		if (gs__secret_append(&auth, "Authorization: Bearer ", 22) < 0
		    || gs__secret_append(&auth, key.s, key.len) < 0 ||
		    !(l = curl_slist_append(NULL, auth.data)) ||
		    !curl_slist_append(l, "Content-Type: application/json") ||
		    !curl_slist_append(l, "Accept: application/json") ||
		    /* No 100-continue round trip for large bodies. */
		    !curl_slist_append(l, "Expect:")) {
			gs__buf_wipe_free(&auth);
			headers_free(l);
			gs__key_clear(&key);
			rc = gs__err(errmsg, GS_ENOMEM, "out of memory");
			break;
		}
		gs__buf_wipe_free(&auth);
		rq.headers = l;
		cc = perform(h, &rq, &x, &status);
		headers_free(l);
		r->attempts++;
		r->status = (int)status;
		if (cc != CURLE_OK) {
			gs_buf_free(&x.body);
			if (x.too_big) {
				rc = fail(errmsg, &key, GS_EUPSTREAM,
					  "upstream answer is larger than "
					  "max_response_bytes (%zu)",
					  u->max_response);
			} else if (cc == CURLE_OPERATION_TIMEDOUT) {
				/* Before the whole timeout: connecting. */
				curl_off_t t = 0, lim = u->timeout * 1000000L;

				curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T,
						  &t);
				rc = t < lim - 200000
					? fail(errmsg, &key, GS_EUPSTREAM,
					       "upstream: could not connect "
					       "within %ld s (connect_timeout)",
					       u->connect_timeout)
					: fail(errmsg, &key, GS_EUPSTREAM,
					       "upstream timed out after %ld s",
					       u->timeout);
			} else if (retryable_transport(cc) &&
				   retry < u->retries) {
				sleep_ms(backoff(u, retry++));
				gs__key_clear(&key);
				continue;
			} else {
				rc = fail(errmsg, &key, GS_EUPSTREAM,
					  "upstream connection failed%s: %s",
					  after(retry, tail, sizeof tail),
					  curl_why(cc, &x));
			}
			gs__key_clear(&key);
			break;
		}
		if (status >= 200 && status < 300) {
			r->body = gs_buf_steal(&x.body, &r->len);
			gs__key_clear(&key);
			rc = r->body ? GS_OK : gs__err(errmsg, GS_ENOMEM,
						       "out of memory");
			break;
		}
		why = gs__error_line(x.body.data, x.body.len);
		gs_buf_free(&x.body);
		sep = why ? ": " : "";
		w = why ? why : "";
		if (status == 401 || status == 403) {
			tried[key.index] = 1;
			ntried++;
			gs__keyring_refused(u->keys, key.index);
			if (ntried < nkeys) {
				gs_free(why);
				gs__key_clear(&key);
				continue;
			}
			rc = nkeys == 1
				? fail(errmsg, &key, GS_EUPSTREAM, "upstream "
				       "returned %ld for key %s%s%s", status,
				       key.fp, sep, w)
				: fail(errmsg, &key, GS_EUPSTREAM, "upstream "
				       "returned %ld for all %zu keys%s%s",
				       status, nkeys, sep, w);
		} else if (status == 429 || status >= 500) {
			if (retry >= u->retries)
				rc = fail(errmsg, &key, GS_EUPSTREAM,
					  "upstream returned %ld%s%s%s",
					  status, after(retry, tail,
							sizeof tail), sep, w);
			else if (x.retry_after > u->max_backoff)
				rc = fail(errmsg, &key, GS_EUPSTREAM,
					  "upstream returned %ld and asked to "
					  "wait %ld s, more than max_backoff "
					  "(%ld s)", status, x.retry_after,
					  u->max_backoff);
			else
				wait = x.retry_after >= 0
					? x.retry_after * 1000
					: backoff(u, retry);
		} else if (status >= 300 && status < 400) {
			rc = fail(errmsg, &key, GS_EUPSTREAM, "upstream "
				  "returned %ld, a redirect; redirects are "
				  "not followed: check url", status);
		} else {
			rc = fail(errmsg, &key, GS_EUPSTREAM, "upstream "
				  "returned %ld%s%s", status, sep, w);
		}
		gs_free(why);
		gs__key_clear(&key);
		if (wait < 0)
			break; /* rc says how it ended */
		sleep_ms(wait);
		retry++;
	}
	give_handle(u, h);
	return rc;
}

void gs_upstream_result_clear(gs_upstream_result *r)
{
	gs_free(r->body);
	r->body = NULL;
	r->len = 0;
}

int gs_upstream_prepare(gs_upstream *u, char **errmsg)
{
	struct gs__key k;
	int rc;

	if (errmsg)
		*errmsg = NULL;
	rc = gs__keyring_get(u->keys, &k, errmsg);
	gs__key_clear(&k);
	return rc;
}

const char *gs_upstream_url(const gs_upstream *u)
{
	return u->url;
}

const char *gs_upstream_key_sources(const gs_upstream *u)
{
	return gs__keyring_sources(u->keys);
}

void gs_upstream_free(gs_upstream *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nidle; i++)
		curl_easy_cleanup(u->idle[i]);
	gs__keyring_free(u->keys);
	pthread_mutex_destroy(&u->lock);
	gs_free(u->url);
	gs_free(u->ca_file);
	gs_free(u);
}

/* ---- settings --------------------------------------------------------- */

static int num(const char *key, const char *v, long min, long max,
	       const char *unit, long *out, char **err)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (!*v || *end || errno || x < min || x > max)
		return gs__err(err, GS_EINVAL, "%s = '%s': expected %s from "
			       "%ld to %ld", key, v, unit, min, max);
	*out = x;
	return GS_OK;
}

static int yesno(const char *key, const char *v, int *out, char **err)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = 0;
	else
		return gs__err(err, GS_EINVAL, "%s = '%s': expected yes or no",
			       key, v);
	return GS_OK;
}

int gs_upstream_new(gs_upstream **out, size_t n, const char *const *keys,
		    const char *const *values, const char *base_dir,
		    size_t *bad, char **errmsg)
{
	struct gs__keyring_opts ko = {
		.spec = GS__DEFAULT_KEYS, .base_dir = base_dir,
		.rotate_after = 3600, .key_timeout = 10,
		.gcp_endpoint = GS__GCP_ENDPOINT,
		.gcp_metadata = GS__GCP_METADATA,
	};
	const char *url = GS__DEFAULT_URL, *ca = NULL;
	size_t at[4] = { n, n, n, n }; /* url, gcp_endpoint, gcp_metadata,
					  keys: where they were set */
	long mrb = 8L << 20;
	gs_upstream *u;
	int rc = GS_OK;
	size_t i;

	*out = NULL;
	if (errmsg)
		*errmsg = NULL;
	if (bad)
		*bad = n;
	u = gs_calloc(1, sizeof *u);
	if (!u)
		return gs__err(errmsg, GS_ENOMEM, "out of memory");
	pthread_mutex_init(&u->lock, NULL);
	u->timeout = 60;
	u->connect_timeout = 10;
	u->retries = 3;
	u->backoff_ms = 500;
	u->max_backoff = 60;
	for (i = 0; i < n && rc >= 0; i++) {
		const char *k = keys[i], *v = values[i];

		if (!strcmp(k, "url"))
			url = v, at[0] = i;
		else if (!strcmp(k, "keys"))
			ko.spec = v, at[3] = i;
		else if (!strcmp(k, "timeout"))
			rc = num(k, v, 1, 3600, "seconds", &u->timeout, errmsg);
		else if (!strcmp(k, "connect_timeout"))
			rc = num(k, v, 1, 600, "seconds", &u->connect_timeout,
				 errmsg);
		else if (!strcmp(k, "retries"))
			rc = num(k, v, 0, 10, "a count", &u->retries, errmsg);
		else if (!strcmp(k, "backoff_ms"))
			rc = num(k, v, 1, 60000, "milliseconds",
				 &u->backoff_ms, errmsg);
		else if (!strcmp(k, "max_backoff"))
			rc = num(k, v, 1, 3600, "seconds", &u->max_backoff,
				 errmsg);
		else if (!strcmp(k, "max_response_bytes"))
			rc = num(k, v, 1024, (long)GS_MAX_BODY_DEFAULT,
				 "bytes", &mrb, errmsg);
		else if (!strcmp(k, "ca_file"))
			ca = v;
		else if (!strcmp(k, "rotate_after"))
			rc = num(k, v, 0, 31536000, "seconds (0: never)",
				 &ko.rotate_after, errmsg);
		else if (!strcmp(k, "key_timeout"))
			rc = num(k, v, 1, 600, "seconds", &ko.key_timeout,
				 errmsg);
		else if (!strcmp(k, "allow_http"))
			rc = yesno(k, v, &ko.allow_http, errmsg);
		else if (!strcmp(k, "gcp_endpoint"))
			ko.gcp_endpoint = v, at[1] = i;
		else if (!strcmp(k, "gcp_metadata"))
			ko.gcp_metadata = v, at[2] = i;
		else
			rc = gs__err(errmsg, GS_EINVAL, "unknown key '%s' "
				     "(see guardstack.ini(5), [upstream])",
				     k);
	}
	if (rc < 0) {
		if (bad)
			*bad = i - 1;
		goto out;
	}
	u->max_response = (size_t)mrb;
	/* Checked after the loop: allow_http may come after url. */
	if ((rc = gs__url_check(url, "url", ko.allow_http, errmsg)) < 0) {
		i = at[0];
		goto fail;
	}
	if ((rc = gs__url_check(ko.gcp_endpoint, "gcp_endpoint",
				ko.allow_http, errmsg)) < 0) {
		i = at[1];
		goto fail;
	}
	/* The metadata server is plain http by design, on a link-local
	 * address. */
	if ((rc = gs__url_check(ko.gcp_metadata, "gcp_metadata", 1,
				errmsg)) < 0) {
		i = at[2];
		goto fail;
	}
	if (ca) {
		u->ca_file = gs__join(base_dir, ca);
		if (!u->ca_file) {
			rc = gs__err(errmsg, GS_ENOMEM, "out of memory");
			goto out;
		}
		if (access(u->ca_file, R_OK) < 0) {
			for (i = 0; i < n && strcmp(keys[i], "ca_file"); i++)
				;
			rc = gs__err(errmsg, GS_EINVAL, "ca_file: %s: %s",
				     u->ca_file, strerror(errno));
			goto fail;
		}
	}
	ko.ca_file = u->ca_file;
	u->url = gs_strndup(url, strlen(url));
	if (!u->url) {
		rc = gs__err(errmsg, GS_ENOMEM, "out of memory");
		goto out;
	}
	rc = gs__keyring_new(&u->keys, &ko, errmsg);
	if (rc < 0) {
		i = at[3];
		goto fail;
	}
	*out = u;
	return GS_OK;
fail:
	if (bad)
		*bad = i;
out:
	gs_upstream_free(u);
	return rc;
}
