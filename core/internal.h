/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what the core's files share and nobody else sees.
 * Names here are gs__ (two underscores); none is exported (see
 * libguardstack.sym).
 */
#ifndef GS_INTERNAL_H
#define GS_INTERNAL_H

#include "config.h"
#include <stddef.h>
#include <stdarg.h>
#include <time.h>
#include "guardstack.h"
#include "model.h"

#define GS__MAX_INCLUDE_DEPTH 8
#define GS__MAX_STACK_FILES 64   /* all files read for one stack */
#define GS__RX_MAX_GROUPS 32

/* ---- errors: messages are allocated, "FILE:LINE: text" ---------------- */
char *gs__vfmt(const char *fmt, va_list ap);
char *gs__fmt(const char *fmt, ...) GS_PRINTF(1, 2);
/* Sets *err (if err and *err is NULL) to a formatted message; returns code. */
int gs__err(char **err, int code, const char *fmt, ...) GS_PRINTF(3, 4);

/* ---- allocation (alloc.c) ---------------------------------------------
 * Test hook: from now on the nth allocation (counting from this call)
 * fails, and with and_after every later one too; n = 0 turns it off.
 * Returns how many allocations were counted since the previous call.
 * Exported for the test programs only (libguardstack.sym). */
unsigned long gs__alloc_fault(unsigned long n, int and_after);
/* Allocations that failed in this thread so far (compare two readings). */
unsigned long gs__alloc_failures(void);
/* rx.c: PCRE2's general context, set up by alloc.c's constructor. */
void gs__rx_init(void);
void gs__rx_fini(void);
/* random.c: gs_random's per-thread pages, at unload. */
void gs__random_fini(void);

/* ---- UTF-8 (utf8.c) --------------------------------------------------- */
/* gs_utf8_check and a search for the first 0 byte in one pass: returns the
 * first invalid UTF-8 offset (or len) and sets *nul_at to the first 0 byte
 * (or len). */
size_t gs__utf8_check_nul(const char *s, size_t len, size_t *nul_at);

/* ---- environment and paths ------------------------------------------- */
/* getenv that returns NULL when setuid/setgid. */
const char *gs__secure_getenv(const char *name);
/* Refuses path (and every directory above it) when writable by group or
 * others or owned by someone other than root or the user.  Root-owned
 * sticky directories (/tmp) are accepted as ancestors. */
int gs__check_safe(const char *path, char **err);
/* Directory part of path, allocated. */
char *gs__dirname(const char *path);
/* dir + "/" + rel, or rel when absolute. */
char *gs__join(const char *dir, const char *rel);

/* ---- stack files ------------------------------------------------------ */
struct gs__kv {
	char *key;
	char *value;
	int line;
	int used;
};

struct gs__section {
	char *name;
	const char *file; /* borrowed from the stack's file list */
	int line;
	struct gs__kv *kv;
	size_t nkv;
};

/* ---- loaded stack ----------------------------------------------------- */
struct gs__up;

enum gs__control {
	GS__REQUIRED = 0,
	GS__REQUISITE,
	GS__SUFFICIENT,
	GS__OPTIONAL
};
extern const char *const gs__control_names[];

/* Role bits. */
#define GS__ROLE_SYSTEM 0x1u
#define GS__ROLE_DEVELOPER 0x2u
#define GS__ROLE_USER 0x4u
#define GS__ROLE_ASSISTANT 0x8u
#define GS__ROLE_TOOL 0x10u

struct gs__filter {
	char *name;
	char *module;
	char *path;
	const char *file;
	int line;
	enum gs__control control;
	int on_error_ignore;
	unsigned phases;
	unsigned roles[3];   /* indexed by phase: [1] request, [2] response */
	char *roles_str;
	char **keys, **values; /* plugin settings, for check */
	size_t nsettings;
	void *dl;
	const gs_plugin *plugin;
	void *instance;
	int created;
};

struct gs_stack {
	char *name;
	char *path;
	int fell_back;
	int strict;
	char **files;          /* every stack file read, for errors */
	size_t nfiles;
	struct gs__filter *filters;
	size_t nfilters;
	struct gs__section *upstream; /* [upstream] while loading */
	struct gs__up *up;     /* where calls go (upstream.h) */
};

/* stack.c: parse one file into sections (appends to *secs).  Errors are
 * "FILE:LINE: message". */
int gs__parse_file(const char *path, struct gs__section **secs,
		   size_t *nsecs, char **err);
void gs__sections_free(struct gs__section *secs, size_t n);

/* loader.c */
int gs__load_plugin(gs_stack *st, struct gs__filter *f, char **err);
void gs__unload_plugin(struct gs__filter *f);

/* config.c: runs create() for f with the section's plugin settings. */
int gs__create_instance(gs_stack *st, struct gs__filter *f,
			struct gs__kv *kv, size_t nkv, char **err);

unsigned gs__role_bit(const char *role);
const char *gs__role_name(unsigned bit);
unsigned gs__default_roles(gs_phase phase);

/* ---- calls ------------------------------------------------------------ */
struct gs__pdata {
	void *data;
	void (*free_fn)(void *);
};

struct gs__ref {
	size_t m, p; /* message and part of the phase's document */
};

struct gs_call {
	const gs_stack *st;
	struct gs__doc req;
	struct gs__doc resp;
	gs_outcome outcome;
	int fail_filter;         /* index of the first failing filter, or -1 */
	char *reason;
	int phases_run;          /* GS_PHASE_* bits */
	int finished;
	gs_filter_report *reports;
	struct gs__pdata *pdata;
	void *md;                /* pcre2_match_data, per call */
	struct gs__ref *view;    /* scratch: the current filter's texts */
	size_t nview, capview;
	char call_id[17];
	struct timespec t0;
	int upstream_status;
	char *key_fingerprint;
};

struct gs_ctx {
	gs_call *call;
	size_t fi;
	const struct gs__filter *f;
	gs_phase phase;            /* 0 in finish() */
	int modified;
	int reason_set;
	char *reason;
};

/* dispatch.c */
int gs__run_phase(gs_call *c, gs_phase phase);
/* rx.c: per-call match data. */
void *gs__md_get(gs_call *c);
void gs__md_free(void *md);

#endif
