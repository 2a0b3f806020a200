/* SPDX-License-Identifier: MIT */
/*
 * keys.c - API keys: where they come from, which one is in use, and
 * keeping them out of everything else.
 *
 * A stack names sources, never keys: env:NAME, file:PATH, cmd:PROGRAM
 * ARGS, gcp:projects/P/secrets/S/versions/V.  A source is read when it
 * becomes the current one (first use, every rotate_after seconds, after
 * the upstream refused its key), so a rotated secret is picked up without
 * a restart.  Key bytes live only in buffers this file wipes before they
 * are freed; everywhere else a key is named by its fingerprint, the first
 * 8 hex digits of its SHA-256 (OpenSSL's, as is the base64 decoder).
 */
#include "upstream.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_SOURCE_BYTES 65536  /* a key file, a program's output */
#define MAX_CMD_ARGS 32

enum kind { SRC_ENV, SRC_FILE, SRC_CMD, SRC_GCP };

struct source {
	enum kind kind;
	char *arg;          /* variable, resolved path, program, resource */
	char **argv;        /* cmd: NULL-terminated */
	struct gs__key val; /* val.s is NULL until the source is read */
};

struct gs__keyring {
	pthread_mutex_t lock;
	struct source *src;
	size_t n;
	size_t cur;
	int started;
	struct timespec since;  /* when cur became current */
	long rotate_after, key_timeout;
	int allow_http;
	char *sources;
	char *gcp_endpoint, *gcp_metadata, *ca_file;
};

/* ---- secret memory ---------------------------------------------------- */

void gs__wipe(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

void gs__buf_wipe_free(gs_buf *b)
{
	if (b->data)
		gs__wipe(b->data, b->cap);
	gs_buf_free(b);
}

int gs__secret_append(gs_buf *b, const char *s, size_t n)
{
	size_t need, cap, len = b->len;
	char *p;

	if (n > (size_t)-1 / 2 - len)
		return GS_ENOMEM;
	need = len + n + 1;
	if (need > b->cap) {
		/* Not realloc: it may move the block and leave the old
		 * bytes in freed memory. */
		cap = b->cap ? b->cap : 64;
		while (cap < need)
			cap *= 2;
		p = gs_alloc(cap);
		if (!p)
			return GS_ENOMEM;
		if (len)
			memcpy(p, b->data, len);
		gs__buf_wipe_free(b);
		b->data = p;
		b->cap = cap;
		b->len = len;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return GS_OK;
}

void gs__key_clear(struct gs__key *k)
{
	if (k->s) {
		gs__wipe(k->s, k->len);
		gs_free(k->s);
	}
	k->s = NULL;
	k->len = 0;
	k->fp[0] = '\0';
}

int gs__fingerprint(const char *s, size_t len, char out[9])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen < 4) {
		out[0] = '\0';
		return GS_ENOMEM;
	}
	snprintf(out, 9, "%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
	gs__wipe(md, sizeof md);
	return GS_OK;
}

/* Trims surrounding whitespace of b in place and checks what is left is
 * one printable ASCII token: anything else would end up in an HTTP header
 * (a CR or LF there splits it). */
static int take_key(gs_buf *b, const char *what, struct gs__key *k,
		    char **err)
{
	size_t a = 0, e = b->len;

	while (a < e && strchr(" \t\r\n", b->data[a]))
		a++;
	while (e > a && strchr(" \t\r\n", b->data[e - 1]))
		e--;
	if (a == e)
		return gs__err(err, GS_EINVAL, "%s: empty key", what);
	if (e - a > GS__MAX_KEY_BYTES)
		return gs__err(err, GS_EINVAL, "%s: key longer than %d bytes",
			       what, GS__MAX_KEY_BYTES);
	for (size_t i = a; i < e; i++)
		if ((unsigned char)b->data[i] < 0x21 ||
		    (unsigned char)b->data[i] > 0x7e)
			return gs__err(err, GS_EINVAL, "%s: the key has a "
				       "space, control or non-ASCII "
				       "character at byte %zu", what, i - a);
	k->s = gs_alloc(e - a + 1);
	if (!k->s)
		return gs__err(err, GS_ENOMEM, "out of memory");
	memcpy(k->s, b->data + a, e - a);
	k->s[e - a] = '\0';
	k->len = e - a;
	if (gs__fingerprint(k->s, k->len, k->fp) < 0) {
		gs__key_clear(k);
		return gs__err(err, GS_ENOMEM, "out of memory");
	}
	return GS_OK;
}

/* ---- env: and file: --------------------------------------------------- */

static int read_env(struct source *s, gs_buf *out, char **err)
{
	const char *v = gs__secure_getenv(s->arg);

	if (!v || !*v)
		return gs__err(err, GS_EINVAL, "%s not set", s->arg);
	return gs__secret_append(out, v, strlen(v));
}

static int read_file(struct source *s, gs_buf *out, char **err)
{
	struct stat sb;
	char chunk[4096];
	ssize_t r;
	int fd, rc = GS_OK;
	mode_t mode;

	fd = open(s->arg, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return gs__err(err, GS_EIO, "file:%s: %s", s->arg,
			       errno == ELOOP ? "a symbolic link; name the "
			       "file itself" : strerror(errno));
	if (fstat(fd, &sb) < 0) {
		rc = gs__err(err, GS_EIO, "file:%s: %s", s->arg,
			     strerror(errno));
		goto out;
	}
	mode = sb.st_mode & 07777;
	if (!S_ISREG(sb.st_mode))
		rc = gs__err(err, GS_EPERM, "file:%s: not a regular file",
			     s->arg);
	else if (sb.st_uid != geteuid())
		rc = gs__err(err, GS_EPERM, "file:%s: owned by uid %ld, not "
			     "by you (uid %ld); a key file must be yours",
			     s->arg, (long)sb.st_uid, (long)geteuid());
	else if (mode != 0600 && mode != 0400)
		rc = gs__err(err, GS_EPERM, "file:%s: mode %04o; a key file "
			     "must be 0600 or 0400 (chmod 600 %s)", s->arg,
			     (unsigned)mode, s->arg);
	while (rc >= 0 && (r = read(fd, chunk, sizeof chunk)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = gs__err(err, GS_EIO, "file:%s: %s", s->arg,
				     strerror(errno));
		} else if (out->len + (size_t)r > MAX_SOURCE_BYTES) {
			rc = gs__err(err, GS_EINVAL, "file:%s: larger than "
				     "%d bytes; not a key file", s->arg,
				     MAX_SOURCE_BYTES);
		} else if (gs__secret_append(out, chunk, (size_t)r) < 0) {
			rc = gs__err(err, GS_ENOMEM, "out of memory");
		}
	}
out:
	gs__wipe(chunk, sizeof chunk);
	close(fd);
	return rc;
}

/* ---- cmd: ------------------------------------------------------------- */

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Waits for pid until the deadline, then kills it.  Returns the wait
 * status, or -1 when it had to be killed. */
static int reap(pid_t pid, const struct timespec *deadline)
{
	int st = 0;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return 0; /* SIGCHLD ignored by the host: unknown */
		if (ms_left(deadline) <= 0) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

/* Runs the program without a shell (the key must not pass through one
 * and the arguments are taken as written), stdin from /dev/null, and
 * keeps the first line of its output. */
static int read_cmd(struct gs__keyring *kr, struct source *s, gs_buf *out,
		    char **err)
{
	posix_spawn_file_actions_t fa;
	struct timespec deadline;
	char chunk[4096];
	int p[2], rc = GS_OK, st, got_line = 0, exited = 0, wst = 0;
	pid_t pid;

	/* posix_spawn does not always report a failed exec (it cannot
	 * when it falls back to fork), so a path is checked first. */
	if (strchr(s->argv[0], '/') && access(s->argv[0], X_OK) < 0)
		return gs__err(err, GS_EINVAL, "cmd:%s: cannot run: %s",
			       s->arg, strerror(errno));
	if (pipe2(p, O_CLOEXEC) < 0)
		return gs__err(err, GS_EIO, "cmd:%s: pipe: %s", s->arg,
			       strerror(errno));
	if (posix_spawn_file_actions_init(&fa) != 0) {
		close(p[0]);
		close(p[1]);
		return gs__err(err, GS_ENOMEM, "out of memory");
	}
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	st = posix_spawnp(&pid, s->argv[0], &fa, NULL, s->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (st != 0) {
		close(p[0]);
		return gs__err(err, GS_EINVAL, "cmd:%s: cannot run: %s",
			       s->arg, strerror(st));
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += kr->key_timeout;
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		long left = ms_left(&deadline);
		ssize_t r;
		int pr;

		if (left <= 0) {
			rc = GS_ELIMIT;
			break;
		}
		/* Once the line is in, the program's exit is enough: a
		 * helper it started (gpg-agent for pass) may hold the pipe
		 * open long after. */
		pr = poll(&pfd, 1, got_line ? 50
			  : (int)(left > 60000 ? 60000 : left));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			rc = gs__err(err, GS_EIO, "cmd:%s: poll: %s", s->arg,
				     strerror(errno));
			break;
		}
		if (pr == 0) {
			if (got_line && waitpid(pid, &wst, WNOHANG) == pid) {
				exited = 1;
				break;
			}
			continue;
		}
		r = read(p[0], chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		/* Keep reading to the end so the program never blocks on
		 * a full pipe, but only the first line is kept. */
		if (!got_line && rc >= 0) {
			char *nl = memchr(chunk, '\n', (size_t)r);
			size_t n = nl ? (size_t)(nl - chunk) : (size_t)r;

			if (out->len + n > MAX_SOURCE_BYTES)
				rc = gs__err(err, GS_EINVAL, "cmd:%s: first "
					     "line longer than %d bytes",
					     s->arg, MAX_SOURCE_BYTES);
			else if (gs__secret_append(out, chunk, n) < 0)
				rc = gs__err(err, GS_ENOMEM, "out of memory");
			got_line = nl != NULL;
		}
	}
	gs__wipe(chunk, sizeof chunk);
	close(p[0]);
	st = exited ? wst : reap(pid, &deadline);
	if (rc == GS_ELIMIT || st < 0) {
		if (err && *err) {
			gs_free(*err);
			*err = NULL;
		}
		return gs__err(err, GS_EINVAL, "cmd:%s: no answer within %ld "
			       "s (key_timeout); killed", s->arg,
			       kr->key_timeout);
	}
	if (rc < 0)
		return rc;
	if (WIFSIGNALED(st))
		return gs__err(err, GS_EINVAL, "cmd:%s: killed by signal %d",
			       s->arg, WTERMSIG(st));
	if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		return gs__err(err, GS_EINVAL, "cmd:%s: exited with status "
			       "%d", s->arg, WEXITSTATUS(st));
	return GS_OK;
}

/* ---- gcp: ------------------------------------------------------------- */

/* Wipes every string in a parsed tree before it is freed. */
static void wipe_json(cJSON *j)
{
	for (; j; j = j->next) {
		if (j->valuestring)
			gs__wipe(j->valuestring, strlen(j->valuestring));
		wipe_json(j->child);
	}
}

/* Copies the string at obj.a(.b) of a JSON body into out. */
static int json_secret(const gs_buf *body, const char *a, const char *b,
		       gs_buf *out)
{
	cJSON *root = cJSON_ParseWithLength(body->data ? body->data : "",
					    body->len);
	cJSON *v = root ? cJSON_GetObjectItemCaseSensitive(root, a) : NULL;
	int rc = GS_EINPUT;

	if (v && b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	if (cJSON_IsString(v) && v->valuestring[0])
		rc = gs__secret_append(out, v->valuestring,
				       strlen(v->valuestring));
	wipe_json(root);
	cJSON_Delete(root);
	return rc;
}

static int read_gcp(struct gs__keyring *kr, struct source *s, gs_buf *out,
		    char **err)
{
	gs_buf tok = GS_BUF_INIT, hdr = GS_BUF_INIT, body = GS_BUF_INIT;
	gs_buf b64 = GS_BUF_INIT;
	const char *env = gs__secure_getenv("GOOGLE_OAUTH_ACCESS_TOKEN");
	char *url = NULL, *why = NULL, *m = NULL;
	long status = -1;
	int rc;

	if (env && *env) {
		rc = gs__secret_append(&tok, env, strlen(env));
	} else {
		url = gs__fmt("%s/computeMetadata/v1/instance/"
			      "service-accounts/default/token",
			      kr->gcp_metadata);
		rc = url ? gs__http_get(url, "Metadata-Flavor: Google",
					kr->key_timeout, NULL, 65536, &body,
					&status, &m)
			 : GS_ENOMEM;
		if (rc >= 0 && status != 200)
			rc = GS_EUPSTREAM;
		if (rc >= 0 && json_secret(&body, "access_token", NULL,
					   &tok) < 0)
			rc = GS_EINPUT;
		if (rc < 0) {
			rc = gs__err(err, rc == GS_ENOMEM ? rc : GS_EUPSTREAM,
				"gcp:%s: no access token: set "
				"GOOGLE_OAUTH_ACCESS_TOKEN, or run where the "
				"metadata server answers (%s)", s->arg,
				m ? m : status > 0 ? "it returned an error"
				: "no JSON access_token");
			goto out;
		}
		gs__buf_wipe_free(&body);
		gs_free(url);
	}
	if (rc < 0 ||
	    gs__secret_append(&hdr, "Authorization: Bearer ", 22) < 0 ||
	    gs__secret_append(&hdr, tok.data, tok.len) < 0) {
		rc = gs__err(err, GS_ENOMEM, "out of memory");
		goto out;
	}
	url = gs__fmt("%s/v1/%s:access", kr->gcp_endpoint, s->arg);
	rc = url ? gs__http_get(url, hdr.data, kr->key_timeout, kr->ca_file,
				MAX_SOURCE_BYTES, &body, &status, &m)
		 : GS_ENOMEM;
	if (rc < 0) {
		gs__err(err, rc, "gcp:%s: %s", s->arg, m ? m : "failed");
		goto out;
	}
	if (status != 200) {
		why = gs__error_line(body.data, body.len);
		rc = gs__err(err, status >= 500 ? GS_EUPSTREAM : GS_EINVAL,
			     "gcp:%s: Secret Manager returned %ld%s%s",
			     s->arg, status, why ? ": " : "", why ? why : "");
		goto out;
	}
	if (json_secret(&body, "payload", "data", &b64) < 0 ||
	    b64.len % 4 != 0) {
		rc = gs__err(err, GS_EUPSTREAM, "gcp:%s: the answer has no "
			     "base64 payload.data", s->arg);
		goto out;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes: drop them. */
	/* out is still empty: growing it leaves no secret behind. */
	rc = gs_buf_reserve(out, b64.len) < 0 ? GS_ENOMEM : GS_OK;
	if (rc == GS_OK) {
		int n = EVP_DecodeBlock((unsigned char *)out->data,
					(const unsigned char *)b64.data,
					(int)b64.len);
		if (n < 0) {
			rc = gs__err(err, GS_EUPSTREAM, "gcp:%s: payload.data "
				     "is not base64", s->arg);
		} else {
			for (size_t i = b64.len; i > 0 &&
			     b64.data[i - 1] == '='; i--)
				n--;
			out->len = n > 0 ? (size_t)n : 0;
			out->data[out->len] = '\0';
		}
	} else {
		gs__err(err, rc, "out of memory");
	}
out:
	gs__buf_wipe_free(&tok);
	gs__buf_wipe_free(&hdr);
	gs__buf_wipe_free(&body);
	gs__buf_wipe_free(&b64);
	gs_free(url);
	gs_free(why);
	gs_free(m);
	return rc;
}

/* ---- the ring --------------------------------------------------------- */

static int read_source(struct gs__keyring *kr, struct source *s,
		       size_t index, char **err)
{
	gs_buf b = GS_BUF_INIT;
	char what[160];
	int rc;

	switch (s->kind) {
	case SRC_ENV: rc = read_env(s, &b, err); break;
	case SRC_FILE: rc = read_file(s, &b, err); break;
	case SRC_CMD: rc = read_cmd(kr, s, &b, err); break;
	default: rc = read_gcp(kr, s, &b, err); break;
	}
	if (rc >= 0) {
		snprintf(what, sizeof what, "%s:%s",
			 s->kind == SRC_ENV ? "env" : s->kind == SRC_FILE
			 ? "file" : s->kind == SRC_CMD ? "cmd" : "gcp",
			 s->arg);
		rc = take_key(&b, what, &s->val, err);
		s->val.index = index;
	}
	gs__buf_wipe_free(&b);
	return rc;
}

int gs__keyring_get(struct gs__keyring *kr, struct gs__key *out,
		    char **err)
{
	struct source *s;
	struct timespec now;
	int rc = GS_OK;

	memset(out, 0, sizeof *out);
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&kr->lock);
	if (!kr->started) {
		kr->started = 1;
		kr->since = now;
	} else if (kr->rotate_after > 0 &&
		   now.tv_sec - kr->since.tv_sec >= kr->rotate_after) {
		/* With one source this re-reads it: a refreshed token. */
		kr->cur = (kr->cur + 1) % kr->n;
		kr->since = now;
		gs__key_clear(&kr->src[kr->cur].val);
	}
	s = &kr->src[kr->cur];
	if (!s->val.s)
		rc = read_source(kr, s, kr->cur, err);
	if (rc >= 0) {
		out->s = gs_strndup(s->val.s, s->val.len);
		if (!out->s) {
			rc = gs__err(err, GS_ENOMEM, "out of memory");
		} else {
			out->len = s->val.len;
			out->index = kr->cur;
			memcpy(out->fp, s->val.fp, sizeof out->fp);
		}
	}
	pthread_mutex_unlock(&kr->lock);
	return rc;
}

void gs__keyring_refused(struct gs__keyring *kr, size_t index)
{
	pthread_mutex_lock(&kr->lock);
	if (index < kr->n) {
		gs__key_clear(&kr->src[index].val);
		if (kr->cur == index) {
			kr->cur = (kr->cur + 1) % kr->n;
			clock_gettime(CLOCK_MONOTONIC, &kr->since);
		}
	}
	pthread_mutex_unlock(&kr->lock);
}

size_t gs__keyring_count(const struct gs__keyring *kr)
{
	return kr->n;
}

const char *gs__keyring_sources(const struct gs__keyring *kr)
{
	return kr->sources;
}

void gs__keyring_free(struct gs__keyring *kr)
{
	if (!kr)
		return;
	for (size_t i = 0; i < kr->n; i++) {
		struct source *s = &kr->src[i];

		gs__key_clear(&s->val);
		gs_free(s->arg);
		for (size_t k = 0; s->argv && s->argv[k]; k++)
			gs_free(s->argv[k]);
		gs_free(s->argv);
	}
	gs_free(kr->src);
	gs_free(kr->sources);
	gs_free(kr->gcp_endpoint);
	gs_free(kr->gcp_metadata);
	gs_free(kr->ca_file);
	pthread_mutex_destroy(&kr->lock);
	gs_free(kr);
}

/* ---- parsing ---------------------------------------------------------- */

/* Splits a command line at blanks; '...' and "..." group words (no
 * escapes: this is not a shell, and none is run). */
static int split_args(const char *s, size_t len, char ***out, char **err,
		      size_t entry)
{
	char **v = gs_calloc(MAX_CMD_ARGS + 1, sizeof *v);
	size_t n = 0, i = 0;
	gs_buf w = GS_BUF_INIT;

	if (!v)
		return gs__err(err, GS_ENOMEM, "out of memory");
	*out = v;
	while (i < len) {
		int any = 0;

		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == len)
			break;
		gs_buf_reset(&w);
		while (i < len && s[i] != ' ' && s[i] != '\t') {
			if (s[i] == '\'' || s[i] == '"') {
				const char *q = memchr(s + i + 1, s[i],
						       len - i - 1);
				if (!q) {
					gs_buf_free(&w);
					return gs__err(err, GS_EINVAL, "keys: "
						       "entry %zu: unmatched "
						       "quote", entry);
				}
				if (gs_buf_append(&w, s + i + 1, (size_t)(q -
						  s - i - 1)) < 0)
					goto oom;
				i = (size_t)(q - s) + 1;
			} else if (gs_buf_putc(&w, s[i++]) < 0) {
				goto oom;
			}
			any = 1;
		}
		if (!any)
			continue;
		if (n == MAX_CMD_ARGS) {
			gs_buf_free(&w);
			return gs__err(err, GS_EINVAL, "keys: entry %zu: more "
				       "than %d words", entry, MAX_CMD_ARGS);
		}
		if (gs_buf_reserve(&w, 0) < 0 ||
		    !(v[n++] = gs_buf_steal(&w, NULL)))
			goto oom;
	}
	gs_buf_free(&w);
	if (!n)
		return gs__err(err, GS_EINVAL, "keys: entry %zu: cmd: needs "
			       "a program", entry);
	return GS_OK;
oom:
	gs_buf_free(&w);
	return gs__err(err, GS_ENOMEM, "out of memory");
}

static int valid_env_name(const char *s, size_t n)
{
	if (!n || n > 128 || (*s >= '0' && *s <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* projects/P/secrets/S/versions/V, each part [A-Za-z0-9_.-]. */
static int valid_gcp(const char *s, size_t n)
{
	static const char *const parts[] = { "projects", "secrets",
					     "versions" };
	size_t i = 0;

	for (int k = 0; k < 3; k++) {
		size_t pl = strlen(parts[k]), start;

		if (n - i < pl + 2 || memcmp(s + i, parts[k], pl) ||
		    s[i + pl] != '/')
			return 0;
		i += pl + 1;
		start = i;
		while (i < n && s[i] != '/') {
			char c = s[i++];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			      || (c >= '0' && c <= '9') || c == '_' ||
			      c == '-' || c == '.'))
				return 0;
		}
		if (i == start)
			return 0;
		if (k < 2 && (i == n || s[i++] != '/'))
			return 0;
	}
	return i == n;
}

static int add_source(struct gs__keyring *kr, const char *e, size_t n,
		      const struct gs__keyring_opts *o, size_t entry,
		      char **err)
{
	struct source *s = &kr->src[kr->n];
	const char *v = e + 4;
	size_t vn = n - 4;

	memset(s, 0, sizeof *s);
	if (n > 4 && !memcmp(e, "env:", 4)) {
		if (!valid_env_name(v, vn))
			return gs__err(err, GS_EINVAL, "keys: entry %zu: env: "
				       "needs a variable name (letters, "
				       "digits, _)", entry);
		s->kind = SRC_ENV;
		s->arg = gs_strndup(v, vn);
	} else if (n > 5 && !memcmp(e, "file:", 5)) {
		char *rel = gs_strndup(e + 5, n - 5);

		s->kind = SRC_FILE;
		s->arg = rel ? gs__join(o->base_dir, rel) : NULL;
		gs_free(rel);
	} else if (n > 4 && !memcmp(e, "cmd:", 4)) {
		int rc;

		s->kind = SRC_CMD;
		kr->n++; /* freed with the ring from here on */
		rc = split_args(v, vn, &s->argv, err, entry);
		if (rc < 0)
			return rc;
		s->arg = gs_strndup(s->argv[0], strlen(s->argv[0]));
		if (!s->arg)
			return gs__err(err, GS_ENOMEM, "out of memory");
		return GS_OK;
	} else if (n > 4 && !memcmp(e, "gcp:", 4)) {
		if (!valid_gcp(v, vn))
			return gs__err(err, GS_EINVAL, "keys: entry %zu: gcp: "
				       "needs projects/P/secrets/S/versions/V"
				       , entry);
		s->kind = SRC_GCP;
		s->arg = gs_strndup(v, vn);
	} else {
		/* Never echo it: it may well be a key. */
		return gs__err(err, GS_EINVAL, "keys: entry %zu is not a key "
			       "source; write env:NAME, file:PATH, "
			       "cmd:PROGRAM or gcp:projects/P/secrets/S/"
			       "versions/V (a key itself may not be written "
			       "in a stack file)", entry);
	}
	if (!s->arg)
		return gs__err(err, GS_ENOMEM, "out of memory");
	kr->n++;
	return GS_OK;
}

int gs__keyring_new(struct gs__keyring **out,
		    const struct gs__keyring_opts *o, char **err)
{
	struct gs__keyring *kr = gs_calloc(1, sizeof *kr);
	const char *p = o->spec;
	gs_buf desc = GS_BUF_INIT;
	size_t entry = 0;
	int rc = GS_OK;

	*out = NULL;
	if (!kr)
		return gs__err(err, GS_ENOMEM, "out of memory");
	pthread_mutex_init(&kr->lock, NULL);
	kr->rotate_after = o->rotate_after;
	kr->key_timeout = o->key_timeout;
	kr->allow_http = o->allow_http;
	kr->src = gs_calloc(GS__MAX_KEYS, sizeof *kr->src);
	kr->gcp_endpoint = gs_strndup(o->gcp_endpoint,
				      strlen(o->gcp_endpoint));
	kr->gcp_metadata = gs_strndup(o->gcp_metadata,
				      strlen(o->gcp_metadata));
	kr->ca_file = o->ca_file ? gs_strndup(o->ca_file, strlen(o->ca_file))
				 : NULL;
	if (!kr->src || !kr->gcp_endpoint || !kr->gcp_metadata ||
	    (o->ca_file && !kr->ca_file)) {
		rc = gs__err(err, GS_ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		const char *c = strchr(p, ',');
		const char *a = p, *b = c ? c : p + strlen(p);

		entry++;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (a == b) {
			rc = gs__err(err, GS_EINVAL, "keys: entry %zu is empty",
				     entry);
			break;
		}
		if (kr->n == GS__MAX_KEYS) {
			rc = gs__err(err, GS_EINVAL, "keys: more than %d "
				     "sources", GS__MAX_KEYS);
			break;
		}
		rc = add_source(kr, a, (size_t)(b - a), o, entry, err);
		if (rc < 0)
			break;
		if ((desc.len && gs_buf_puts(&desc, ", ") < 0) ||
		    gs_buf_append(&desc, a, (size_t)(b - a)) < 0) {
			rc = gs__err(err, GS_ENOMEM, "out of memory");
			break;
		}
		if (!c)
			break;
		p = c + 1;
	}
	if (rc >= 0 && !(kr->sources = gs_buf_steal(&desc, NULL)))
		rc = gs__err(err, GS_ENOMEM, "out of memory");
out:
	gs_buf_free(&desc);
	if (rc < 0) {
		gs__keyring_free(kr);
		return rc;
	}
	*out = kr;
	return GS_OK;
}
