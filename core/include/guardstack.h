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
/* Static text for a GS_E* code (never NULL). */
const char *gs_strerror(int code);

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
 * (GS_EINPUT otherwise, with a message). */
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

/* Names for enums, static strings. */
const char *gs_outcome_name(gs_outcome o);  /* "pass", "modified", ... */
const char *gs_verdict_name(gs_verdict v);  /* "pass", "rejected", ... */

#ifdef __cplusplus
}
#endif
#endif
