/* SPDX-License-Identifier: MIT */
/*
 * logger - one JSON line per call, written when the call finishes.
 *
 * Everything logged comes from the gs_call_info that finish() receives:
 * counts, names, verdicts, timings.  Message content never reaches this
 * plugin, so it cannot leak it; unknown numbers (-1) and strings (NULL)
 * are left out of the line rather than written as null.
 *
 * Sinks: `file` (appended with one write(2) per line, so concurrent
 * writers never interleave), `syslog` (a datagram to the local syslog
 * socket, sent by this plugin itself: openlog() would change the host
 * process's global ident) and `stderr`, the default.  A file the lines
 * cannot be written to (disk full, a file size limit, an I/O error) is
 * said once on stderr: an audit log must not fail unseen.
 */
#include <guardstack/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LG_IDENT "guardstack"

static const char *const lg_facilities[] = {
	"user", "daemon", "auth", "local0", "local1", "local2", "local3",
	"local4", "local5", "local6", "local7", NULL
};
static const int lg_facility_codes[] = {
	LOG_USER, LOG_DAEMON, LOG_AUTH, LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2,
	LOG_LOCAL3, LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7
};

static const char *const lg_outcomes[] = {
	"none", "pass", "modified", "rejected", "error"
};
static const char *const lg_verdicts[] = {
	"skipped", "pass", "modified", "ignored", "rejected", "error"
};

struct lg {
	int fd;            /* log file, or -1 */
	int sock;          /* syslog datagram socket, or -1 */
	struct sockaddr_un addr;
	socklen_t addrlen;
	int facility;
	int to_stderr;
	char *self;        /* our own instance name, left out of "filters" */
	char *path;        /* the file's, for the one warning */
	atomic_int lost;   /* a write to the file failed (warned once) */
};

/* ---- JSON ------------------------------------------------------------- */

/* The line is built in a buffer reserved once per call, so most appends
 * (gs_buf_add, GS_BUF_LIT) are a bounds check and a memcpy: the logger
 * runs on every call, and printf and per-byte calls used to cost more
 * than some filters. */

/* ,"key": for a literal key (nothing to escape in our own names) */
#define LG_KEY(key) ",\"" key "\":"
#define LG_KSTR(b, key, val) \
	lg_kstr((b), LG_KEY(key), sizeof(LG_KEY(key)) - 1, (val))
#define LG_KLONG(b, key, val) \
	lg_klong((b), LG_KEY(key), sizeof(LG_KEY(key)) - 1, (val))

#define LG_ONES 0x0101010101010101ull
#define LG_HIGHS 0x8080808080808080ull

/* Nonzero when some byte of w is 0. */
static uint64_t lg_zero(uint64_t w)
{
	return (w - LG_ONES) & ~w & LG_HIGHS;
}

/* Nonzero when one of the eight bytes at s is not printable ASCII or
 * is '"' or '\\': >= 0x80, < 0x20 (exact as a whole for bytes below
 * 0x80), 0x7f, the two to escape. */
static uint64_t lg_bad8(const char *s)
{
	uint64_t w;

	memcpy(&w, s, 8);
	return (w & LG_HIGHS) | ((w - LG_ONES * 0x20) & ~w & LG_HIGHS) |
	       lg_zero(w ^ (LG_ONES * 0x7f)) | lg_zero(w ^ (LG_ONES * '"')) |
	       lg_zero(w ^ (LG_ONES * '\\'));
}

/* Whether s[0..len) goes into a JSON string as it is: printable ASCII
 * without '"' or '\\'.  Eight bytes a step. */
static int lg_plain(const char *s, size_t len)
{
	size_t i = 0;

	if (len >= 8) { /* the last eight overlap the ones before */
		for (; i + 8 <= len; i += 8)
			if (lg_bad8(s + i))
				return 0;
		return !lg_bad8(s + len - 8);
	}
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			return 0;
	}
	return 1;
}

/* Appends s as a JSON string.  Filters write the reason with printf, so
 * it is not promised to be UTF-8: invalid bytes become U+FFFD.  Runs of
 * bytes that need no escape are copied whole; a string of printable
 * ASCII with nothing to escape (names, verdicts, ids: most of a line) is
 * copied at once. */
static int lg_str(gs_buf *b, const char *s)
{
	size_t len = strlen(s), i = 0;
	int rc;

	if (lg_plain(s, len)) { /* the line's room is reserved: one copy */
		char *d;

		if (b->cap - b->len <= len + 2 &&
		    gs_buf_reserve(b, len + 2) < 0)
			return GS_ENOMEM;
		d = b->data + b->len;
		d[0] = '"';
		memcpy(d + 1, s, len);
		d[len + 1] = '"';
		d[len + 2] = '\0';
		b->len += len + 2;
		return GS_OK;
	}
	rc = GS_BUF_LIT(b, "\"");

	while (rc == 0 && i < len) {
		size_t ok = i + gs_utf8_check(s + i, len - i), run;

		while (rc == 0 && i < ok) {
			unsigned char c = 0;
			char esc[8];

			for (run = i; run < ok; run++) {
				c = (unsigned char)s[run];
				if (c == '"' || c == '\\' || c < 0x20 ||
				    c == 0x7f)
					break;
			}
			rc = gs_buf_add(b, s + i, run - i);
			i = run;
			if (rc || i == ok)
				break;
			if (c == '"' || c == '\\')
				esc[0] = '\\', esc[1] = (char)c, esc[2] = 0;
			else if (c == '\n')
				memcpy(esc, "\\n", 3);
			else if (c == '\t')
				memcpy(esc, "\\t", 3);
			else
				snprintf(esc, sizeof(esc), "\\u%04x", c);
			rc = gs_buf_add(b, esc, strlen(esc));
			i++;
		}
		if (rc == 0 && i < len) {
			rc = GS_BUF_LIT(b, "\\ufffd");
			i++;
		}
	}
	return rc ? rc : GS_BUF_LIT(b, "\"");
}

static inline __attribute__((always_inline)) int
lg_kstr(gs_buf *b, const char *key, size_t klen, const char *val)
{
	if (!val)
		return GS_OK;
	if (gs_buf_add(b, key, klen) < 0)
		return GS_ENOMEM;
	return lg_str(b, val);
}

/* Appends the decimal digits of v, at least `width` of them. */
static int lg_ulong(gs_buf *b, unsigned long v, int width)
{
	char d[24];
	size_t i = sizeof(d);

	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10) || (int)(sizeof(d) - i) < width);
	return gs_buf_add(b, d + i, sizeof(d) - i);
}

static inline __attribute__((always_inline)) int
lg_klong(gs_buf *b, const char *key, size_t klen, long val)
{
	if (val < 0)
		return GS_OK;
	if (gs_buf_add(b, key, klen) < 0)
		return GS_ENOMEM;
	return lg_ulong(b, (unsigned long)val, 1);
}

/* {"time":"2024-05-01T12:34:56.789Z" (RFC 3339, UTC, milliseconds).
 * The part up to the seconds is made once a second per thread: calls
 * come by the hundred thousand a second, and gmtime_r and the digits
 * were a tenth of what a line cost. */
static __thread time_t lg_stamp_sec = (time_t)-1;
static __thread char lg_stamp[40];
static __thread size_t lg_stamp_len;

static int lg_time(gs_buf *b)
{
	struct timespec ts;
	struct tm tm;
	char when[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != lg_stamp_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
			return gs_buf_printf(b, "{\"time\":\"%s.%03ldZ\"",
					     when, ts.tv_nsec / 1000000);
		}
		lg_stamp_len = (size_t)snprintf(lg_stamp, sizeof(lg_stamp),
			"{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.",
			tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			tm.tm_hour, tm.tm_min, tm.tm_sec);
		lg_stamp_sec = ts.tv_sec;
	}
	if (gs_buf_add(b, lg_stamp, lg_stamp_len) < 0 ||
	    lg_ulong(b, (unsigned long)ts.tv_nsec / 1000000, 3) < 0 ||
	    GS_BUF_LIT(b, "Z\"") < 0)
		return GS_ENOMEM;
	return GS_OK;
}

/* ,"latency_ms":12.345 */
static int lg_latency(gs_buf *b, double ms)
{
	unsigned long us;

	if (!(ms >= 0))
		return GS_OK;
	if (ms >= 1e12)
		return gs_buf_printf(b, LG_KEY("latency_ms") "%.3f", ms);
	us = (unsigned long)(ms * 1000.0 + 0.5);
	if (GS_BUF_LIT(b, LG_KEY("latency_ms")) < 0 ||
	    lg_ulong(b, us / 1000, 1) < 0 || GS_BUF_LIT(b, ".") < 0 ||
	    lg_ulong(b, us % 1000, 3) < 0)
		return GS_ENOMEM;
	return GS_OK;
}

#define LG_HAS(info, field) \
	((info)->size >= offsetof(gs_call_info, field) + \
	 sizeof((info)->field))

static int lg_line(const struct lg *lg, const gs_call_info *info, gs_buf *b)
{
	int rc;

	if ((rc = gs_buf_reserve(b, 512)) < 0 || (rc = lg_time(b)) < 0)
		return rc;
	/* All fields below are in ABI 1.0; the check keeps a smaller
	 * struct from an unexpected core from being read past its end. */
	if (!LG_HAS(info, filters))
		return GS_BUF_LIT(b, "}\n");
	if ((rc = LG_KSTR(b, "stack", info->stack)) < 0 ||
	    (rc = LG_KSTR(b, "call_id", info->call_id)) < 0 ||
	    (rc = LG_KSTR(b, "model", info->model)) < 0)
		return rc;
	if ((unsigned)info->outcome < sizeof(lg_outcomes) /
	    sizeof(lg_outcomes[0]))
		rc = LG_KSTR(b, "outcome", lg_outcomes[info->outcome]);
	else
		rc = gs_buf_printf(b, ",\"outcome\":%d", (int)info->outcome);
	if (rc < 0 ||
	    (rc = LG_KSTR(b, "rejected_by", info->rejected_by)) < 0 ||
	    (rc = LG_KSTR(b, "reason", info->reason)) < 0 ||
	    (rc = LG_KLONG(b, "messages", info->messages)) < 0 ||
	    (rc = LG_KLONG(b, "input_chars", info->input_chars)) < 0 ||
	    (rc = LG_KLONG(b, "output_chars", info->output_chars)) < 0 ||
	    (rc = LG_KLONG(b, "prompt_tokens", info->prompt_tokens)) < 0 ||
	    (rc = LG_KLONG(b, "completion_tokens",
			   info->completion_tokens)) < 0 ||
	    (rc = LG_KLONG(b, "total_tokens", info->total_tokens)) < 0 ||
	    (rc = LG_KSTR(b, "finish_reason", info->finish_reason)) < 0 ||
	    (rc = lg_latency(b, info->latency_ms)) < 0)
		return rc;
	if ((rc = LG_KLONG(b, "upstream_status", info->upstream_status)) < 0 ||
	    (rc = LG_KSTR(b, "key_fingerprint", info->key_fingerprint)) < 0 ||
	    (rc = GS_BUF_LIT(b, ",\"filters\":[")) < 0)
		return rc;
	for (size_t i = 0, n = 0; i < info->nfilters; i++) {
		const gs_filter_report *f = &info->filters[i];

		if (f->name && lg->self && !strcmp(f->name, lg->self))
			continue;
		if ((rc = n++ ? GS_BUF_LIT(b, ",{\"name\":")
			      : GS_BUF_LIT(b, "{\"name\":")) < 0 ||
		    (rc = lg_str(b, f->name ? f->name : "")) < 0 ||
		    (rc = LG_KSTR(b, "module", f->module)) < 0)
			return rc;
		if ((unsigned)f->verdict < sizeof(lg_verdicts) /
		    sizeof(lg_verdicts[0]))
			rc = LG_KSTR(b, "verdict", lg_verdicts[f->verdict]);
		else
			rc = gs_buf_printf(b, ",\"verdict\":%d",
					   (int)f->verdict);
		if (rc < 0 || (rc = GS_BUF_LIT(b, LG_KEY("count"))) < 0 ||
		    (rc = lg_ulong(b, f->count, 1)) < 0 ||
		    (rc = GS_BUF_LIT(b, "}")) < 0)
			return rc;
	}
	return GS_BUF_LIT(b, "]}\n");
}

/* ---- sinks ------------------------------------------------------------ */

/* One write(2) for the whole line: with O_APPEND the kernel places it
 * at the end atomically, so lines from other processes never land inside
 * it.  A short write (disk full) is finished, not repeated.  0, or the
 * errno of the failure (ENOSPC for a write that wrote nothing). */
static int lg_write(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : ENOSPC;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The first failed write to the log file is said on stderr, once per
 * instance (threads share it), with the file and the error: no content,
 * no key. */
static void lg_lost(struct lg *lg, int err)
{
	char msg[512];
	int n;

	if (atomic_exchange(&lg->lost, 1))
		return;
	n = snprintf(msg, sizeof msg, "guardstack: logger [%s]: writing %s "
		     "failed: %s; log lines are being lost (said once)\n",
		     lg->self ? lg->self : "logger", lg->path, strerror(err));
	if (n > 0)
		(void)lg_write(STDERR_FILENO, msg, (size_t)n < sizeof msg
			       ? (size_t)n : sizeof msg - 1);
}

/* RFC 3164 framing as the local syslog daemons expect it:
 * "<PRI>Mmm dd hh:mm:ss ident[pid]: message", local time. */
static void lg_syslog(const struct lg *lg, const char *line, size_t len)
{
	gs_buf b = GS_BUF_INIT;
	time_t now = time(NULL);
	struct tm tm;
	char when[32];

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%b %e %H:%M:%S", &tm);
	if (gs_buf_printf(&b, "<%d>%s " LG_IDENT "[%ld]: %.*s",
			  lg->facility | LOG_INFO, when, (long)getpid(),
			  (int)(len - 1), line) == 0)
		sendto(lg->sock, b.data, b.len, MSG_DONTWAIT | MSG_NOSIGNAL,
		       (const struct sockaddr *)&lg->addr, lg->addrlen);
	gs_buf_free(&b);
}

static void lg_finish(void *instance, gs_ctx *ctx, const gs_call_info *info)
{
	struct lg *lg = instance;
	gs_buf b = GS_BUF_INIT;
	int err;

	if (!info || lg_line(lg, info, &b) < 0 || !b.len) {
		gs_buf_free(&b);
		return;
	}
	if (lg->fd >= 0 && (err = lg_write(lg->fd, b.data, b.len)) != 0)
		lg_lost(lg, err);
	if (lg->sock >= 0)
		lg_syslog(lg, b.data, b.len);
	if (lg->to_stderr)
		(void)lg_write(STDERR_FILENO, b.data, b.len);
	gs_buf_free(&b);
}

/* ---- configuration ---------------------------------------------------- */

static void lg_destroy(void *instance)
{
	struct lg *lg = instance;

	if (!lg)
		return;
	if (lg->fd >= 0)
		close(lg->fd);
	if (lg->sock >= 0)
		close(lg->sock);
	gs_free(lg->self);
	gs_free(lg->path);
	gs_free(lg);
}

/* Opens the log file for appending, creating it 0600.  Logs tell who
 * talked to which model when, so in strict mode an existing file that
 * others may read is refused like one they may write. */
static int lg_open(struct lg *lg, gs_config *cfg, const char *path)
{
	struct stat st;
	int rc;

	lg->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
		      O_NOCTTY | O_NOFOLLOW, 0600);
	if (lg->fd < 0) {
		gs_config_error(cfg, "file", "%s: %s", path, strerror(errno));
		return GS_EIO;
	}
	if (fstat(lg->fd, &st) < 0) {
		gs_config_error(cfg, "file", "%s: %s", path, strerror(errno));
		return GS_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		gs_config_error(cfg, "file", "%s: not a regular file", path);
		return GS_EINVAL;
	}
	rc = gs_config_check_file(cfg, "file", path);
	if (rc < 0)
		return rc;
	if (gs_config_strict(cfg) && (st.st_mode & 077)) {
		gs_config_error(cfg, "file", "%s: readable or writable by "
				"group or others (mode %03o); chmod 600 it",
				path, (unsigned)(st.st_mode & 0777));
		return GS_EPERM;
	}
	return GS_OK;
}

static int lg_create(gs_config *cfg, void **instance)
{
	struct lg *lg = gs_calloc(1, sizeof(*lg));
	const char *self = gs_config_instance(cfg);
	char *path = NULL, *sock = NULL;
	int use_syslog, fac, rc;

	if (!lg)
		return GS_ENOMEM;
	atomic_init(&lg->lost, 0);
	lg->fd = lg->sock = -1;
	if ((rc = gs_config_path(cfg, "file", &path)) < 0 ||
	    (rc = gs_config_bool(cfg, "syslog", 0, &use_syslog)) < 0 ||
	    (rc = gs_config_enum(cfg, "syslog_facility", lg_facilities, 0,
				 &fac)) < 0 ||
	    (rc = gs_config_path(cfg, "syslog_socket", &sock)) < 0 ||
	    (rc = gs_config_bool(cfg, "stderr", !path && !use_syslog,
				 &lg->to_stderr)) < 0)
		goto fail;
	lg->facility = lg_facility_codes[fac];
	if (self && !(lg->self = gs_strndup(self, strlen(self)))) {
		rc = GS_ENOMEM;
		goto fail;
	}
	if (path && (rc = lg_open(lg, cfg, path)) < 0)
		goto fail;
	if (path && !(lg->path = gs_strndup(path, strlen(path)))) {
		rc = GS_ENOMEM;
		goto fail;
	}
	if (use_syslog) {
		const char *to = sock ? sock : "/dev/log";

		if (strlen(to) >= sizeof(lg->addr.sun_path)) {
			gs_config_error(cfg, "syslog_socket", "path too long");
			rc = GS_EINVAL;
			goto fail;
		}
		/* Unconnected: each line is addressed, so a restarted
		 * daemon is found again without shared state to repair. */
		lg->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (lg->sock < 0) {
			gs_config_error(cfg, "syslog", "socket: %s",
					strerror(errno));
			rc = GS_EIO;
			goto fail;
		}
		lg->addr.sun_family = AF_UNIX;
		memcpy(lg->addr.sun_path, to, strlen(to) + 1);
		lg->addrlen = (socklen_t)sizeof(lg->addr);
	}
	gs_free(path);
	gs_free(sock);
	*instance = lg;
	return GS_OK;
fail:
	gs_free(path);
	gs_free(sock);
	lg_destroy(lg);
	return rc;
}

GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
	GS_PLUGIN_HEADER,
	.name = "logger",
	.description = "writes one JSON line per call (no content, no keys)",
	.version = "1",
	.phases = 0,
	.flags = 0,
	.create = lg_create,
	.finish = lg_finish,
	.destroy = lg_destroy,
};
