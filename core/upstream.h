/* SPDX-License-Identifier: MIT */
/*
 * upstream.h - what the upstream client (upstream.c), the key sources
 * (keys.c), the offline backend (offline.c) and the stack loader share.
 * Internal: gs__ names, not installed.
 */
#ifndef GS_UPSTREAM_H
#define GS_UPSTREAM_H

#include "internal.h"

#define GS__DEFAULT_URL "https://api.mistral.ai/v1/chat/completions"
#define GS__DEFAULT_MODEL "mistral-small-latest"
#define GS__DEFAULT_KEYS "env:MISTRAL_API_KEY"
#define GS__GCP_ENDPOINT "https://secretmanager.googleapis.com"
#define GS__GCP_METADATA "http://metadata.google.internal"
#define GS__MAX_KEYS 16          /* sources in one keys = list */
#define GS__MAX_KEY_BYTES 4096   /* longest key accepted */

/* ---- secrets ---------------------------------------------------------- */

/* Zeroes n bytes in a way the compiler may not drop. */
void gs__wipe(void *p, size_t n);
/* Wipes the buffer's whole capacity, then frees it. */
void gs__buf_wipe_free(gs_buf *b);
/* Appends to a buffer holding a secret: when it must grow, the old block
 * is wiped before it is freed, so no copy is left behind in the heap. */
int gs__secret_append(gs_buf *b, const char *s, size_t n);

/* A key in memory.  s is NUL-terminated printable ASCII; fp is the first
 * 8 hex digits of its SHA-256, the only way a key is ever named. */
struct gs__key {
	char *s;
	size_t len;
	size_t index;  /* its source in the keys = list */
	char fp[9];
};
/* Wipes and frees k->s; k is empty afterwards. */
void gs__key_clear(struct gs__key *k);
/* out: 8 hex digits and a NUL. */
int gs__fingerprint(const char *s, size_t len, char out[9]);

/* ---- key sources (keys.c) --------------------------------------------- */

struct gs__keyring;

struct gs__keyring_opts {
	const char *spec;          /* the keys = value */
	const char *base_dir;      /* relative file: paths; NULL: cwd */
	long rotate_after;         /* seconds; 0: never */
	long key_timeout;          /* seconds, for cmd: and gcp: */
	const char *gcp_endpoint;
	const char *gcp_metadata;
	const char *ca_file;       /* for gcp: over https */
	int allow_http;            /* gcp_endpoint may be plain http */
};

/* Parses and checks the list (no source is read yet).  Messages never
 * repeat an entry that is not a source: it may be a key. */
int gs__keyring_new(struct gs__keyring **out,
		    const struct gs__keyring_opts *o, char **err);
void gs__keyring_free(struct gs__keyring *kr);
size_t gs__keyring_count(const struct gs__keyring *kr);
/* The sources as written, comma-separated, for `check` (borrowed). */
const char *gs__keyring_sources(const struct gs__keyring *kr);
/* A copy of the current key (rotating first when rotate_after has
 * passed; reading the source when it has no value yet).  The caller
 * clears it with gs__key_clear.  Thread-safe.  Errors: GS_EINVAL (unset,
 * empty, unusable), GS_EPERM (unsafe key file), GS_EIO, GS_EUPSTREAM
 * (gcp: could not be reached). */
int gs__keyring_get(struct gs__keyring *kr, struct gs__key *out,
		    char **err);
/* The upstream refused key `index` (401/403): forget its value and make
 * the next source current, unless another thread already moved on. */
void gs__keyring_refused(struct gs__keyring *kr, size_t index);

/* ---- HTTP (upstream.c) ------------------------------------------------ */

/* Checks a URL: http or https only, no user:password part, and plain
 * http only to a loopback host unless allow_http.  `what` names the
 * setting in the message. */
int gs__url_check(const char *url, const char *what, int allow_http,
		  char **err);

/* One GET, for key sources.  header is one extra header line or NULL
 * (it may hold a secret: it is wiped from curl's list after use).  The
 * body is kept with gs__secret_append; the caller wipes it.  *status is
 * the HTTP status, or -1 when no answer came. */
int gs__http_get(const char *url, const char *header, long timeout,
		 const char *ca_file, size_t max, gs_buf *body,
		 long *status, char **err);

/* One line from an error body, whatever its shape: Mistral's
 * {"object":"error","message":...}, a bare {"message":...}, {"error":
 * {"message":...}}, {"detail":...}, or any text.  Control characters
 * become spaces, invalid UTF-8 '?', and it is cut at 200 bytes.
 * Allocated; NULL for an empty body. */
char *gs__error_line(const char *body, size_t len);

/* ---- the stack's [upstream] ------------------------------------------- */

struct gs__up {
	int offline;
	char *model;            /* default model (never NULL once loaded) */
	char *reply;            /* offline: reply_file contents, or NULL */
	size_t reply_len;
	gs_upstream *client;    /* http: the client, else NULL */
	const char *file;       /* where [upstream] was, or NULL */
	int line;
};

/* Builds st->up from the [upstream] section (may be NULL: defaults).
 * Errors are "FILE:LINE: [upstream]: message". */
int gs__up_load(gs_stack *st, struct gs__section *sec, char **err);
void gs__up_free(struct gs__up *up);

/* offline.c: sets the call's response to the offline answer. */
int gs__offline_answer(gs_call *c, const struct gs__up *up, char **err);

#endif
