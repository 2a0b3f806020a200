/* SPDX-License-Identifier: MIT */
/*
 * fake-mistral - a stand-in for the Mistral API (and for Google's
 * metadata server and Secret Manager) that the tests start on loopback.
 *
 *   fake-mistral --port-file FILE --log FILE [--lifetime SECONDS]
 *
 * It listens on 127.0.0.1 at an ephemeral port, writes the port to FILE
 * (atomically, once it accepts connections), and appends one JSON line
 * per request to the log: {"n","conn","t_ms","method","path","auth",
 * "body"} (t_ms: milliseconds since start; conn: the connection's
 * number, to see reuse).  It exits after --lifetime seconds (default
 * 120) or when its parent dies, so a test can never leave it behind.
 *
 * What it answers is scripted in the URL: a first path segment that is
 * not "v1" is a comma-separated list of actions used in turn by the
 * requests sent to that same list, the last one repeating:
 *
 *   http://127.0.0.1:PORT/429r1,500,ok/v1/chat/completions
 *
 *   ok        a chat completion echoing the last user text, with usage
 *             (or, on /v1/chat/moderations, moderation scores)
 *   400 422   Mistral's error object (422 with a nested message)
 *   401 403   {"message": "Unauthorized"}
 *   429       rate limited; 429rN adds Retry-After: N, 429dN an
 *             HTTP-date N seconds ahead
 *   500       Mistral's error object; 503 the bare {"message"} form
 *   502html   an HTML page
 *   echoauth  400 whose text repeats the Authorization header (a proxy
 *             that echoes requests)
 *   slowN     waits N seconds, then ok
 *   badjson   200 with truncated JSON; notchat: 200, valid JSON that is
 *             not a completion; text: 200 with a plain-text body
 *   bigN      200 with an N KiB completion
 *   trunc     promises 1000 bytes, sends 30, closes
 *   reset     reads the request and resets the connection
 *   drip      200 with a whole completion, sent one byte every 200 ms
 *   resetmid  promises 1000 bytes, sends 40, resets the connection
 *   chunktrunc  chunked: one chunk of a completion, then closes without
 *             the last (zero) chunk
 *   shortlen  a whole completion behind a Content-Length of 40: the
 *             client reads 40 bytes of JSON
 *
 * Keys: a bearer key starting "sk-BAD" gets 401 and "sk-FORBID" 403
 * without using up a step of the script.  Moderation scores come from the
 * last message: "HATE" scores hate_and_discrimination 0.95, "VIOLENCE"
 * violence_and_threats 0.91, anything else 0.01 everywhere.
 *
 * Google: GET /computeMetadata/v1/instance/service-accounts/default/token
 * (needs Metadata-Flavor: Google) returns $FAKE_GCP_TOKEN (default
 * "ya29.fake-token"); GET /v1/projects/P/secrets/S/versions/V:access
 * with that token returns $FAKE_GCP_SECRET plus a newline, base64.
 */
#include "config.h"  /* _GNU_SOURCE: accept4, strndup */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAD 65536
#define MAX_BODY (16 << 20)
#define IDLE_MS 10000
#define MAX_SCRIPTS 256

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static long nreq, nconn;
static struct timespec t0;
static struct { char *script; long used; } scripts[MAX_SCRIPTS];

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0.tv_sec) * 1000 +
	       (t.tv_nsec - t0.tv_nsec) / 1000000;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int reply(int fd, int status, const char *ctype, const char *extra,
		 const char *body, size_t len)
{
	char head[512];
	int n = snprintf(head, sizeof head, "HTTP/1.1 %d Fake\r\n"
			 "Content-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
			 status, ctype, len, extra ? extra : "");

	if (send_all(fd, head, (size_t)n) < 0)
		return -1;
	return send_all(fd, body, len);
}

static int reply_json(int fd, int status, const char *extra,
		      const char *body)
{
	return reply(fd, status, "application/json", extra, body,
		     strlen(body));
}

/* The step of `script` this request gets. */
static char *next_action(const char *script)
{
	const char *p = script, *c;
	long k, i;
	int slot;

	pthread_mutex_lock(&lock);
	for (slot = 0; slot < MAX_SCRIPTS && scripts[slot].script &&
	     strcmp(scripts[slot].script, script); slot++)
		;
	if (slot == MAX_SCRIPTS)
		slot = 0;
	if (!scripts[slot].script)
		scripts[slot].script = strdup(script);
	k = scripts[slot].used++;
	pthread_mutex_unlock(&lock);
	for (i = 0; i < k && (c = strchr(p, ',')); i++)
		p = c + 1;
	c = strchr(p, ',');
	return strndup(p, c ? (size_t)(c - p) : strlen(p));
}

static void log_request(long conn, const char *method, const char *path,
			const char *auth, const char *body, size_t len)
{
	cJSON *o = cJSON_CreateObject();
	char *b = strndup(body, len), *line;

	pthread_mutex_lock(&lock);
	cJSON_AddNumberToObject(o, "n", (double)++nreq);
	cJSON_AddNumberToObject(o, "conn", (double)conn);
	cJSON_AddNumberToObject(o, "t_ms", (double)now_ms());
	cJSON_AddStringToObject(o, "method", method);
	cJSON_AddStringToObject(o, "path", path);
	cJSON_AddStringToObject(o, "auth", auth ? auth : "");
	cJSON_AddStringToObject(o, "body", b ? b : "");
	line = cJSON_PrintUnformatted(o);
	if (line && log_fd >= 0) {
		size_t n = strlen(line);
		line[n] = '\n';
		if (write(log_fd, line, n + 1) < 0)
			perror("fake-mistral: log");
		line[n] = '\0';
	}
	pthread_mutex_unlock(&lock);
	free(line);
	free(b);
	cJSON_Delete(o);
}

/* Text of a message's content: a string or text chunks. */
static void content_text(const cJSON *m, char *out, size_t n)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content"), *ch;

	out[0] = '\0';
	if (cJSON_IsString(c)) {
		snprintf(out, n, "%s", c->valuestring);
		return;
	}
	cJSON_ArrayForEach(ch, c) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(ch, "text");
		if (cJSON_IsString(t))
			strncat(out, t->valuestring, n - strlen(out) - 1);
	}
}

static int chat_ok(int fd, const char *body, size_t len, size_t pad)
{
	cJSON *req = cJSON_ParseWithLength(body, len), *m, *o, *ch, *msg, *u;
	char last[65536], text[65536 + 16];
	long prompt = 0;
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(req, "model");
	char *out, *big = NULL;
	int rc;

	last[0] = '\0';
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(req,
							       "messages")) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");
		char t[65536];

		content_text(m, t, sizeof t);
		prompt += (long)strlen(t);
		if (cJSON_IsString(r) && !strcmp(r->valuestring, "user"))
			snprintf(last, sizeof last, "%s", t);
	}
	snprintf(text, sizeof text, "echo: %s", last);
	if (pad) {
		big = malloc(pad + 1);
		memset(big, 'x', pad);
		big[pad] = '\0';
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", "cmpl-fake");
	cJSON_AddStringToObject(o, "object", "chat.completion");
	cJSON_AddNumberToObject(o, "created", 1700000000);
	cJSON_AddStringToObject(o, "model", cJSON_IsString(model)
				? model->valuestring : "none");
	ch = cJSON_CreateObject();
	cJSON_AddNumberToObject(ch, "index", 0);
	msg = cJSON_AddObjectToObject(ch, "message");
	cJSON_AddStringToObject(msg, "role", "assistant");
	cJSON_AddStringToObject(msg, "content", big ? big : text);
	cJSON_AddNullToObject(msg, "tool_calls");
	cJSON_AddStringToObject(ch, "finish_reason", "stop");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "choices"), ch);
	u = cJSON_AddObjectToObject(o, "usage");
	cJSON_AddNumberToObject(u, "prompt_tokens", (double)prompt);
	cJSON_AddNumberToObject(u, "completion_tokens",
				(double)strlen(big ? big : text));
	cJSON_AddNumberToObject(u, "total_tokens",
				(double)(prompt + (long)strlen(big ? big
							       : text)));
	out = cJSON_PrintUnformatted(o);
	rc = reply_json(fd, 200, NULL, out);
	free(out);
	free(big);
	cJSON_Delete(o);
	cJSON_Delete(req);
	return rc;
}

static int moderation_ok(int fd, const char *body, size_t len)
{
	static const char *const cats[] = {
		"sexual", "hate_and_discrimination", "violence_and_threats",
		"dangerous_and_criminal_content", "selfharm", "health",
		"financial", "law", "pii", NULL };
	cJSON *req = cJSON_ParseWithLength(body, len), *in, *m, *o, *res, *c,
	      *s;
	char last[65536] = "";
	char *out;
	int rc;

	in = cJSON_GetObjectItemCaseSensitive(req, "input");
	cJSON_ArrayForEach(m, in) {
		if (cJSON_IsString(m))
			snprintf(last, sizeof last, "%s", m->valuestring);
		else
			content_text(m, last, sizeof last);
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", "mod-fake");
	cJSON_AddStringToObject(o, "model", "mistral-moderation-latest");
	res = cJSON_CreateObject();
	c = cJSON_AddObjectToObject(res, "categories");
	s = cJSON_AddObjectToObject(res, "category_scores");
	for (int i = 0; cats[i]; i++) {
		double v = 0.01;

		if (i == 1 && strstr(last, "HATE"))
			v = 0.95;
		if (i == 2 && strstr(last, "VIOLENCE"))
			v = 0.91;
		cJSON_AddBoolToObject(c, cats[i], v > 0.5);
		cJSON_AddNumberToObject(s, cats[i], v);
	}
	cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "results"), res);
	out = cJSON_PrintUnformatted(o);
	rc = reply_json(fd, 200, NULL, out);
	free(out);
	cJSON_Delete(o);
	cJSON_Delete(req);
	return rc;
}

static int gcp(int fd, const char *path, const char *auth,
	       const char *flavor)
{
	const char *tok = getenv("FAKE_GCP_TOKEN");
	const char *sec = getenv("FAKE_GCP_SECRET");
	char buf[8192], want[600];
	unsigned char b64[2900];
	size_t n;

	if (!tok)
		tok = "ya29.fake-token";
	if (strstr(path, "/computeMetadata/")) {
		if (!flavor || strcasecmp(flavor, "Google"))
			return reply(fd, 403, "text/html", NULL,
				     "Missing Metadata-Flavor", 23);
		snprintf(buf, sizeof buf, "{\"access_token\":\"%s\","
			 "\"expires_in\":3599,\"token_type\":\"Bearer\"}",
			 tok);
		return reply_json(fd, 200, NULL, buf);
	}
	snprintf(want, sizeof want, "Bearer %s", tok);
	if (!auth || strcmp(auth, want))
		return reply_json(fd, 401, NULL, "{\"error\":{\"code\":401,"
				  "\"message\":\"Request had invalid "
				  "authentication credentials.\",\"status\":"
				  "\"UNAUTHENTICATED\"}}");
	if (!sec)
		return reply_json(fd, 404, NULL, "{\"error\":{\"code\":404,"
				  "\"message\":\"Secret not found or has no "
				  "versions.\",\"status\":\"NOT_FOUND\"}}");
	n = (size_t)snprintf(buf, 2048, "%s\n", sec);
	if (n > 2047)
		n = 2047;
	EVP_EncodeBlock(b64, (const unsigned char *)buf, (int)n);
	snprintf(buf, sizeof buf, "{\"name\":\"%.*s\",\"payload\":{\"data\":"
		 "\"%s\",\"dataCrc32c\":\"0\"}}", (int)(strchr(path, ':') ?
		 strchr(path, ':') - path - 4 : 0), path + 4, b64);
	return reply_json(fd, 200, NULL, buf);
}

/* One request on the connection; 1 to keep it open, 0 to close. */
static int serve_one(int fd, long conn)
{
	static __thread char head[MAX_HEAD + 1];
	char method[16], target[2048], *body = NULL, *p, *e;
	char *auth = NULL, *flavor = NULL, *action = NULL, *script = NULL;
	const char *path;
	size_t hl = 0, blen = 0, clen = 0;
	int keep = 1, rc = -1;

	/* Head: up to the blank line. */
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, IDLE_MS) <= 0)
			return 0;
		r = recv(fd, head + hl, MAX_HEAD - hl, 0);
		if (r <= 0)
			return 0;
		hl += (size_t)r;
		head[hl] = '\0';
		if ((e = strstr(head, "\r\n\r\n")))
			break;
		if (hl == MAX_HEAD)
			return 0;
	}
	if (sscanf(head, "%15s %2047s", method, target) != 2)
		return 0;
	for (p = strstr(head, "\r\n"); p && p < e; p = strstr(p, "\r\n")) {
		char *v, *le;

		p += 2;
		le = strstr(p, "\r\n");
		v = memchr(p, ':', (size_t)(le - p));
		if (!v)
			continue;
		*le = '\0';
		for (v++; *v == ' '; v++)
			;
		if (!strncasecmp(p, "Content-Length:", 15))
			clen = strtoul(v, NULL, 10);
		else if (!strncasecmp(p, "Authorization:", 14))
			auth = strdup(v);
		else if (!strncasecmp(p, "Metadata-Flavor:", 16))
			flavor = strdup(v);
		else if (!strncasecmp(p, "Connection:", 11) &&
			 !strcasecmp(v, "close"))
			keep = 0;
		*le = '\r';
	}
	if (clen > MAX_BODY)
		goto out;
	body = malloc(clen + 1);
	blen = hl - (size_t)(e + 4 - head);
	if (blen > clen)
		blen = clen;
	memcpy(body, e + 4, blen);
	while (blen < clen) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, IDLE_MS) <= 0)
			goto out;
		r = recv(fd, body + blen, clen - blen, 0);
		if (r <= 0)
			goto out;
		blen += (size_t)r;
	}
	body[blen] = '\0';
	log_request(conn, method, target, auth, body, blen);

	path = target;
	if (path[0] == '/' && strncmp(path, "/v1/", 4) &&
	    strncmp(path, "/computeMetadata/", 17)) {
		const char *s = strchr(path + 1, '/');
		script = strndup(path + 1, s ? (size_t)(s - path - 1)
					     : strlen(path + 1));
		path = s ? s : "/";
	}
	if (!strncmp(path, "/computeMetadata/", 17) ||
	    !strncmp(path, "/v1/projects/", 13)) {
		rc = gcp(fd, path, auth, flavor);
		goto out;
	}
	if (auth && !strncmp(auth, "Bearer sk-BAD", 13)) {
		rc = reply_json(fd, 401, NULL, "{\"message\":\"Unauthorized\","
				"\"request_id\":\"fake\"}");
		goto out;
	}
	if (auth && !strncmp(auth, "Bearer sk-FORBID", 16)) {
		rc = reply_json(fd, 403, NULL, "{\"message\":\"Forbidden\"}");
		goto out;
	}
	action = script ? next_action(script) : strdup("ok");
	if (!strcmp(action, "ok") || !strncmp(action, "slow", 4) ||
	    !strncmp(action, "big", 3)) {
		if (!strncmp(action, "slow", 4))
			sleep((unsigned)atoi(action + 4));
		if (strstr(path, "/moderations"))
			rc = moderation_ok(fd, body, blen);
		else
			rc = chat_ok(fd, body, blen, !strncmp(action, "big", 3)
				     ? (size_t)atoi(action + 3) * 1024 : 0);
	} else if (!strcmp(action, "400")) {
		rc = reply_json(fd, 400, NULL, "{\"object\":\"error\","
				"\"message\":\"Invalid model: nope\",\"type\":"
				"\"invalid_model\",\"param\":null,\"code\":"
				"\"1500\"}");
	} else if (!strcmp(action, "422")) {
		rc = reply_json(fd, 422, NULL, "{\"object\":\"error\","
				"\"message\":{\"detail\":[{\"type\":"
				"\"missing\",\"loc\":[\"body\",\"model\"],"
				"\"msg\":\"Field required\"}]},\"type\":"
				"\"invalid_request_error\",\"param\":null,"
				"\"code\":null}");
	} else if (!strcmp(action, "401") || !strcmp(action, "403")) {
		rc = reply_json(fd, atoi(action), NULL, "{\"message\":"
				"\"Unauthorized\",\"request_id\":\"fake\"}");
	} else if (!strncmp(action, "429", 3)) {
		char extra[128] = "";

		if (action[3] == 'r')
			snprintf(extra, sizeof extra, "Retry-After: %s\r\n",
				 action + 4);
		if (action[3] == 'd') {
			time_t t = time(NULL) + atoi(action + 4);
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(extra, sizeof extra, "Retry-After: %a, %d %b "
				 "%Y %H:%M:%S GMT\r\n", &tm);
		}
		rc = reply_json(fd, 429, extra, "{\"object\":\"error\","
				"\"message\":\"Requests rate limit exceeded\","
				"\"type\":\"rate_limited\",\"param\":null,"
				"\"code\":\"1300\"}");
	} else if (!strcmp(action, "500")) {
		rc = reply_json(fd, 500, NULL, "{\"object\":\"error\","
				"\"message\":\"Internal server error\","
				"\"type\":\"internal_error\",\"param\":null,"
				"\"code\":null}");
	} else if (!strcmp(action, "503")) {
		rc = reply_json(fd, 503, NULL, "{\"message\":\"Service "
				"unavailable\"}");
	} else if (!strcmp(action, "502html")) {
		const char *h = "<html>\r\n<head><title>502 Bad Gateway</title>"
				"</head>\r\n<body>\r\n<center><h1>502 Bad "
				"Gateway</h1></center>\r\n</body>\r\n"
				"</html>\r\n";
		rc = reply(fd, 502, "text/html", NULL, h, strlen(h));
	} else if (!strcmp(action, "echoauth")) {
		char t[1024];
		snprintf(t, sizeof t, "proxy refused the request; headers "
			 "were: Authorization: %s", auth ? auth : "");
		rc = reply(fd, 400, "text/plain", NULL, t, strlen(t));
	} else if (!strcmp(action, "badjson")) {
		rc = reply_json(fd, 200, NULL, "{\"id\":\"x\",\"choices\":"
				"[{\"message\":{\"role\":\"assistant\","
				"\"content\":\"tru");
	} else if (!strcmp(action, "notchat")) {
		rc = reply_json(fd, 200, NULL, "{\"object\":\"list\","
				"\"data\":[]}");
	} else if (!strcmp(action, "text")) {
		rc = reply(fd, 200, "text/plain", NULL, "Hello, I am not "
			   "JSON\n", 21);
	} else if (!strcmp(action, "trunc")) {
		const char *t = "HTTP/1.1 200 OK\r\nContent-Type: application/"
				"json\r\nContent-Length: 1000\r\n\r\n"
				"{\"id\":\"cmpl\",\"choices\":[{\"mes";
		send_all(fd, t, strlen(t));
		rc = -1;
	} else if (!strcmp(action, "drip")) {
		const char *h = "HTTP/1.1 200 OK\r\nContent-Type: application/"
				"json\r\nContent-Length: 116\r\n\r\n";
		const char *b = "{\"id\":\"cmpl-drip\",\"choices\":[{\"index"
				"\":0,\"message\":{\"role\":\"assistant\","
				"\"content\":\"dripped\"},\"finish_reason\":"
				"\"stop\"}]}";
		struct timespec ts = { 0, 200000000 };

		/* Until the client gives up: a send to a closed peer fails
		 * (with a reset) soon after. */
		rc = send_all(fd, h, strlen(h));
		for (size_t i = 0; rc == 0 && b[i]; i++) {
			nanosleep(&ts, NULL);
			rc = send_all(fd, b + i, 1);
		}
		rc = -1;
	} else if (!strcmp(action, "resetmid")) {
		const char *t = "HTTP/1.1 200 OK\r\nContent-Type: application/"
				"json\r\nContent-Length: 1000\r\n\r\n"
				"{\"id\":\"cmpl\",\"choices\":[{\"message\":"
				"{\"content\":";
		struct linger lg = { 1, 0 };
		struct timespec ts = { 0, 50000000 };

		send_all(fd, t, strlen(t));
		nanosleep(&ts, NULL); /* let the bytes arrive first */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		rc = -1;
	} else if (!strcmp(action, "chunktrunc")) {
		const char *t = "HTTP/1.1 200 OK\r\nContent-Type: application/"
				"json\r\nTransfer-Encoding: chunked\r\n\r\n"
				"27\r\n{\"id\":\"cmpl\",\"choices\":[{\"message"
				"\":{\"co\r\n";
		send_all(fd, t, strlen(t));
		rc = -1;
	} else if (!strcmp(action, "shortlen")) {
		const char *t = "HTTP/1.1 200 OK\r\nContent-Type: application/"
				"json\r\nContent-Length: 40\r\n\r\n"
				"{\"id\":\"cmpl\",\"choices\":[{\"message\":"
				"{\"role\":\"assistant\",\"content\":\"whole"
				"\"},\"finish_reason\":\"stop\"}]}";
		send_all(fd, t, strlen(t));
		rc = -1;
	} else if (!strcmp(action, "reset")) {
		struct linger lg = { 1, 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		rc = -1;
	} else {
		char t[256];
		snprintf(t, sizeof t, "fake-mistral: unknown action '%s'",
			 action);
		rc = reply(fd, 418, "text/plain", NULL, t, strlen(t));
	}
out:
	free(action);
	free(script);
	free(body);
	free(auth);
	free(flavor);
	return rc == 0 && keep;
}

static void *conn_main(void *arg)
{
	int fd = (int)(long)arg;
	long conn;

	pthread_mutex_lock(&lock);
	conn = ++nconn;
	pthread_mutex_unlock(&lock);
	while (serve_one(fd, conn))
		;
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *log_file = NULL;
	long lifetime = 120;
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof a;
	char tmp[4096];
	FILE *f;
	int s, one = 1;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port-file"))
			port_file = argv[i + 1];
		else if (!strcmp(argv[i], "--log"))
			log_file = argv[i + 1];
		else if (!strcmp(argv[i], "--lifetime"))
			lifetime = atol(argv[i + 1]);
	}
	if (!port_file || !log_file) {
		fprintf(stderr, "usage: fake-mistral --port-file FILE --log "
			"FILE [--lifetime SECONDS]\n");
		return 2;
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	alarm((unsigned)lifetime);
	signal(SIGPIPE, SIG_IGN);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	log_fd = open(log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		      0600);
	if (log_fd < 0) {
		perror(log_file);
		return 1;
	}
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(s, 64) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &al) < 0) {
		perror("fake-mistral: listen");
		return 1;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f) ||
	    rename(tmp, port_file) < 0) {
		perror(port_file);
		return 1;
	}
	for (;;) {
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		pthread_t t;

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("fake-mistral: accept");
			return 1;
		}
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one,
			   sizeof one);
		if (pthread_create(&t, NULL, conn_main, (void *)(long)c))
			close(c);
		else
			pthread_detach(t);
	}
}
