/* SPDX-License-Identifier: MIT */
/*
 * guardstack.h - embedding API of libguardstack.
 *
 * Load a stack once, share it between threads, and run one gs_call per
 * request:
 *
 *     gs_stack *st; char *err;
 *     if (gs_stack_load(&st, "chat", 0, &err) < 0) { puts(err); gs_free(err); }
 *     gs_call *c = gs_call_new(st);
 *     gs_call_add_message(c, "user", text, len);
 *     switch (gs_call_run(c, GS_PHASE_REQUEST)) { ... }
 *     ...
 *     gs_call_free(c);        // runs every filter's finish() once
 *     gs_stack_free(st);
 *
 * Ownership: the creator frees.  Strings returned as `char *` are the
 * caller's (free with gs_free); `const char *` are borrowed from the object
 * named in the comment and live as long as it does unless stated otherwise.
 * Errors are negative GS_E* codes (see guardstack/plugin.h), described by
 * gs_strerror(); functions that can explain more hand back a message.
 */
#ifndef GUARDSTACK_H
#define GUARDSTACK_H

#include <stddef.h>
#include <guardstack/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Library version, e.g. "0.1.0". */
const char *gs_version(void);

typedef struct gs_stack gs_stack;
typedef struct gs_call gs_call;

/* ---- stacks ---------------------------------------------------------- */

/* Where stacks and plugins are looked up.  The defaults are the configured
 * $(sysconfdir)/guardstack and $(pkglibdir); the environment variables
 * GUARDSTACK_CONFDIR and GUARDSTACK_PLUGIN_PATH (a colon-separated list)
 * override them unless the process is setuid or setgid. */
const char *gs_default_confdir(void);
const char *gs_default_plugin_path(void);

/* Loads and validates a stack: `name` is an application name looked up as
 * CONFDIR/NAME.ini (falling back to CONFDIR/default.ini when that file does
 * not exist, as PAM falls back to `other`), or a path when it contains '/'.
 * Every plugin is loaded and every instance created; any problem fails the
 * whole load.  On failure returns a negative GS_E* and, when errmsg is not
 * NULL, sets *errmsg to "FILE:LINE: message" (free with gs_free).  The
 * stack is immutable afterwards and may be shared by threads. */
int gs_stack_load(gs_stack **out, const char *name, unsigned flags,
		  char **errmsg);
void gs_stack_free(gs_stack *st);

/* Borrowed from the stack. */
const char *gs_stack_name(const gs_stack *st);
const char *gs_stack_path(const gs_stack *st);
/* 1 when the application had no stack file and default.ini was used. */
int gs_stack_fell_back(const gs_stack *st);
/* 1 unless the stack says strict = no. */
int gs_stack_strict(const gs_stack *st);

/* Filters in run order (included stacks' filters first). */
size_t gs_stack_filter_count(const gs_stack *st);
typedef struct gs_filter_desc {
	const char *name;        /* instance (section) name */
	const char *module;      /* plugin name */
	const char *path;        /* resolved .so path */
	const char *description; /* plugin's own */
	const char *control;     /* required | requisite | sufficient | optional */
	const char *on_error;    /* reject | ignore */
	unsigned phases;         /* GS_PHASE_* bits it runs in */
	const char *roles;       /* "user,tool" style, or NULL: the default */
	const char *file;        /* stack file that defined it */
	int line;                /* line of its section header */
	size_t nsettings;        /* plugin settings, in file order */
	const char *const *keys;
	const char *const *values;
} gs_filter_desc;
/* Fills *d with pointers borrowed from the stack; GS_EINVAL if i is out of
 * range. */
int gs_stack_filter(const gs_stack *st, size_t i, gs_filter_desc *d);

/* Checks what a JSON parser does not: size (max_bytes, 0 for the
 * default), valid UTF-8, no NUL bytes and no \u0000 escapes.  GS_EINPUT
 * with a message naming the byte, or GS_OK. */
int gs_json_check(const char *json, size_t len, size_t max_bytes,
		  char **errmsg);

/* ---- calls ----------------------------------------------------------- */

/* A call carries one request (and later its response) through the stack.
 * Not thread-safe itself; use one per thread.  NULL when out of memory. */
gs_call *gs_call_new(const gs_stack *st);
/* Runs finish() on every instance if a phase ran, then frees. */
void gs_call_free(gs_call *c);

/* Sets the request from Mistral chat-completions JSON: model, messages
 * (role and content as a string or an array of chunks), every other field
 * kept.  Fails with GS_EINPUT and a message naming the place
 * ("messages[2].content: invalid UTF-8 at byte 17") for invalid JSON, a
 * missing or mistyped field, invalid UTF-8, NUL characters, or a body over
 * max_bytes (0: GS_MAX_BODY_DEFAULT). */
#define GS_MAX_BODY_DEFAULT (64u << 20)
int gs_call_set_request_json(gs_call *c, const char *json, size_t len,
			     size_t max_bytes, char **errmsg);
/* Builds the request piece by piece.  text must be valid UTF-8 without NUL
 * (GS_EINPUT otherwise, with a message); so must model, which may not be
 * empty either (GS_EINPUT, the call unchanged).  Both are copied. */
int gs_call_set_model(gs_call *c, const char *model);
int gs_call_add_message(gs_call *c, const char *role, const char *text,
			size_t len, char **errmsg);

/* Sets the response from chat-completions JSON (choices[].message.content,
 * usage, finish_reason; the rest kept), or from one answer text. */
int gs_call_set_response_json(gs_call *c, const char *json, size_t len,
			      size_t max_bytes, char **errmsg);
int gs_call_set_answer(gs_call *c, const char *text, size_t len,
		       char **errmsg);

/* Runs the stack's filters of one phase.  Returns GS_OUTCOME_PASS,
 * GS_OUTCOME_MODIFIED, GS_OUTCOME_REJECTED or GS_OUTCOME_ERROR (content
 * withheld: a filter failed and its on_error says reject), or a negative
 * GS_E* when the call itself cannot run (GS_ESTATE: no request yet).  Once
 * a phase rejected or failed, later phases return the same outcome. */
int gs_call_run(gs_call *c, gs_phase phase);

/* Outcome so far, the first failing filter and its reason (borrowed from
 * the call; NULL while nothing failed). */
gs_outcome gs_call_outcome(const gs_call *c);
const char *gs_call_rejected_by(const gs_call *c);
const char *gs_call_reason(const gs_call *c);

/* Per-filter results, in stack order (borrowed from the call). */
size_t gs_call_reports(const gs_call *c, const gs_filter_report **out);

/* The texts of a phase in document order (request: every message's text
 * chunks; response: every choice's answer).  Borrowed from the call, valid
 * until the next gs_call_run or gs_call_set_*. */
size_t gs_call_text_count(const gs_call *c, gs_phase phase);
const char *gs_call_text(const gs_call *c, gs_phase phase, size_t i,
			 size_t *len);
/* Role of the message text i belongs to ("user", ...), or NULL. */
const char *gs_call_text_role(const gs_call *c, gs_phase phase, size_t i);

/* Serialises the (filtered) request or response as compact JSON, every
 * field the input had kept.  Caller frees with gs_free; NULL on failure. */
char *gs_call_request_json(const gs_call *c);
char *gs_call_response_json(const gs_call *c);

/* Runs finish() on every instance now (at most once per call). */
void gs_call_finish(gs_call *c);

/* ---- upstream -------------------------------------------------------- */

/* A stack's [upstream] section says where requests go: the Mistral API
 * (the default), any endpoint that speaks its chat-completions protocol,
 * or the built-in offline backend (url = offline) that calls nothing.
 * See guardstack.ini(5).  API keys are read from the sources the stack
 * names (env:, file:, cmd:, gcp:), never written in it; a key never
 * appears in a message from this library, only its fingerprint (the
 * first 8 hex digits of its SHA-256). */

/* Sends the call's filtered request to the stack's upstream and sets the
 * response from the answer.  The request phase must have run and passed
 * (GS_ESTATE otherwise).  A request without a model gets the stack's
 * default model.  On failure returns a negative GS_E* with *errmsg (free
 * with gs_free), and the call's outcome becomes GS_OUTCOME_ERROR with
 * that message as its reason:
 *   GS_EUPSTREAM  the upstream failed or answered badly: timed out, an
 *                 HTTP error (after retries), every key refused,
 *                 malformed or oversized answer
 *   GS_EINVAL     no usable key ("MISTRAL_API_KEY not set"), or the
 *                 request asks for streaming, which is not supported
 *   GS_EPERM      a key file with unsafe ownership or mode
 *   GS_EIO        a key file that cannot be read
 * Blocks for at most about (retries + 1) * timeout plus the waits
 * between retries. */
int gs_call_upstream(gs_call *c, char **errmsg);

/* The whole trip: the request phase, the upstream when the request
 * passed, then the response phase.  Returns the outcome as gs_call_run
 * does (a rejection in either phase is GS_OUTCOME_REJECTED, with
 * gs_call_rejected_by and gs_call_reason), or a negative GS_E* from
 * gs_call_upstream with *errmsg set. */
int gs_call_roundtrip(gs_call *c, char **errmsg);

/* HTTP status of the upstream's answer (-1 before, for the offline
 * backend, or when no answer came). */
int gs_call_upstream_status(const gs_call *c);
/* Fingerprint of the key the call used, or NULL.  Borrowed from the
 * call. */
const char *gs_call_key_fingerprint(const gs_call *c);

/* The HTTP client behind an upstream, also for plugins that call an API
 * themselves (mistral-moderation).  Thread-safe: one client may serve
 * every thread; it keeps a few connections open for reuse.  It changes
 * no signal disposition: SIGPIPE is blocked in the calling thread while
 * a request is under way. */
typedef struct gs_upstream gs_upstream;

/* Creates a client from settings named as in [upstream] (url, keys,
 * timeout, connect_timeout, retries, backoff_ms, max_backoff,
 * max_response_bytes, ca_file, rotate_after, key_timeout, allow_http,
 * gcp_endpoint, gcp_metadata); keys[i] = values[i], n pairs, values as
 * written in a stack file.  Relative file: and ca_file paths are taken
 * from base_dir (NULL: the current directory).  No key is read yet.  On
 * failure returns GS_EINVAL (or GS_ENOMEM) with *errmsg (gs_free) and,
 * when bad is not NULL, *bad = the index of the setting at fault (n when
 * none is).  Free the client with gs_upstream_free. */
int gs_upstream_new(gs_upstream **out, size_t n, const char *const *keys,
		    const char *const *values, const char *base_dir,
		    size_t *bad, char **errmsg);
void gs_upstream_free(gs_upstream *u);

/* Reads the current key now, so that a missing one is reported before
 * any work is done.  Errors as gs_call_upstream's key errors. */
int gs_upstream_prepare(gs_upstream *u, char **errmsg);

typedef struct gs_upstream_result {
	int status;            /* HTTP status of the last answer, or -1 */
	char *body;            /* on success the 2xx body, NUL-terminated
				* (gs_free); else NULL */
	size_t len;
	unsigned attempts;     /* HTTP requests made */
	char key_fingerprint[9]; /* of the last key used, or "" */
} gs_upstream_result;

/* POSTs body (JSON) to the client's url with the current key, retrying
 * 429 and 5xx answers and broken connections with exponential backoff
 * (honouring Retry-After), and moving to the next key on 401 or 403
 * until every key was tried.  GS_OK with r->body on a 2xx answer; else
 * a negative GS_E* (as gs_call_upstream) with *errmsg.  Clear r with
 * gs_upstream_result_clear either way. */
int gs_upstream_post(gs_upstream *u, const char *body, size_t len,
		     gs_upstream_result *r, char **errmsg);
void gs_upstream_result_clear(gs_upstream_result *r);

/* Borrowed from the client: its url, and its key sources as written
 * ("env:MISTRAL_API_KEY"), for display. */
const char *gs_upstream_url(const gs_upstream *u);
const char *gs_upstream_key_sources(const gs_upstream *u);

/* The stack's client, or NULL when the stack uses the offline backend.
 * Borrowed from the stack. */
gs_upstream *gs_stack_upstream(const gs_stack *st);
/* The stack's default model (borrowed, never NULL). */
const char *gs_stack_model(const gs_stack *st);

/* ---- audit ---------------------------------------------------------- */

/* Audits a stack for deployment: where its keys come from and whether
 * they resolve, literal keys in its files, input validation, output
 * sanitisation, logging, the upstream's TLS and timeouts, fail-closed
 * settings, file permissions, and whether every plugin and the stack
 * load.  `stack` is a name or path as for gs_stack_load; a stack that
 * does not load is still audited (its problems become failing checks).
 * No key is read, no key command run and no connection made; the stack
 * is loaded once as gs_stack_load loads it (every create() runs, so a
 * logger's file is created if missing).  flags: 0 (reserved).
 *
 * On success sets *json_out (free with gs_free) to
 *   {"stack": PATH, "passed": BOOL,
 *    "checks": {NAME: {"status": "pass"|"warn"|"fail", "detail": TEXT}}}
 * (details never hold a key-shaped value) and returns the number of
 * failing checks, 0 when the stack passed.  When the audit cannot run
 * (no such stack file, out of memory) returns a negative GS_E* and sets
 * *errmsg (gs_free) when errmsg is not NULL. */
int gs_audit(const char *stack, unsigned flags, char **json_out,
	     char **errmsg);

/* Names for enums, static strings. */
const char *gs_outcome_name(gs_outcome o);  /* "pass", "modified", ... */
const char *gs_verdict_name(gs_verdict v);  /* "pass", "rejected", ... */

#ifdef __cplusplus
}
#endif
#endif
