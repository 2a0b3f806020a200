/* SPDX-License-Identifier: MIT */
/*
 * guardstack/plugin.h - the plugin ABI.
 *
 * A filter plugin is a shared object that exports one const descriptor,
 * `gs_plugin_entry`, of type gs_plugin.  The loader checks the descriptor
 * (ABI major/minor, its size, name, required callbacks) before it calls
 * anything, and refuses the plugin with a precise message otherwise.
 *
 *     #include <guardstack/plugin.h>
 *     GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
 *         GS_PLUGIN_HEADER,
 *         .name = "shout", .description = "upper-cases user text",
 *         .phases = GS_PHASE_REQUEST, .flags = GS_PLUGIN_MODIFIES,
 *         .create = shout_create, .request = shout_run,
 *         .destroy = shout_destroy,
 *     };
 *
 * Life cycle.  create() runs once per stack section when the stack loads;
 * it reads its settings through gs_config_* and returns an instance.  The
 * phase callbacks run once per call and phase; finish() runs once per call
 * for every instance, with the final outcome; destroy() runs when the stack
 * is freed.  A loaded stack is shared by threads: phase and finish callbacks
 * may run concurrently on one instance, so they must treat the instance as
 * read-only and keep per-call state in gs_ctx_set_data().
 *
 * Content.  Plugins never see the request or response structures.  They
 * read and replace texts through gs_text_*; all texts are valid UTF-8 and
 * carry no NUL bytes (the core refuses such input before any filter runs).
 * A text pointer is borrowed: valid until that text is replaced or the
 * callback returns.
 *
 * Memory.  Allocate with gs_alloc()/gs_realloc()/gs_free() so fault
 * injection and accounting see plugin allocations too.
 *
 * ABI rules.  Fields are only ever appended (abi_minor goes up; the loader
 * accepts any plugin whose minor is <= its own); a removal or change of
 * meaning bumps abi_major, and the loader refuses other majors.
 */
#ifndef GUARDSTACK_PLUGIN_H
#define GUARDSTACK_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GS_PLUGIN_ABI_MAJOR 1
#define GS_PLUGIN_ABI_MINOR 0

#define GS_PLUGIN_EXPORT __attribute__((visibility("default")))
#if defined(__GNUC__)
#define GS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define GS_PRINTF(f, a)
#endif

/* Return codes shared with guardstack.h: 0 is success, failures negative. */
#define GS_OK 0
#define GS_ENOMEM (-1)   /* out of memory */
#define GS_EINVAL (-2)   /* invalid argument or configuration */
#define GS_EIO (-3)      /* file could not be read */
#define GS_ELIMIT (-4)   /* a size, depth or match limit was reached */
#define GS_EPLUGIN (-5)  /* plugin missing, foreign or incompatible */
#define GS_EPERM (-6)    /* unsafe ownership or permissions */
#define GS_EINPUT (-7)   /* malformed input: JSON, UTF-8, NUL, size */
#define GS_ESTATE (-8)   /* call used in the wrong order */
#define GS_EUPSTREAM (-9) /* upstream failed */

/* Static text for a GS_E* code (never NULL). */
const char *gs_strerror(int code);

/* Phases, used as bits in gs_plugin.phases. */
typedef enum gs_phase {
	GS_PHASE_REQUEST = 1,  /* before the upstream call */
	GS_PHASE_RESPONSE = 2  /* after it */
} gs_phase;

/* What a phase callback returns.  Linux-PAM's control flags turn these
 * into the stack's verdict (see guardstack.ini(5)). */
typedef enum gs_result {
	GS_RESULT_OK = 0,     /* judged: passes (texts possibly replaced) */
	GS_RESULT_IGNORE = 1, /* abstains: counts neither way */
	GS_RESULT_REJECT = 2, /* must not pass; reason set with gs_reject() */
	GS_RESULT_ERROR = 3   /* could not judge; on_error decides */
} gs_result;

/* Per-filter verdicts, as reported to finish() and by the CLI. */
typedef enum gs_verdict {
	GS_VERDICT_SKIPPED = 0,  /* did not run (stack stopped before it) */
	GS_VERDICT_PASS,         /* ran, changed nothing */
	GS_VERDICT_MODIFIED,     /* ran, replaced at least one text */
	GS_VERDICT_IGNORED,      /* abstained, or failed under on_error=ignore */
	GS_VERDICT_REJECTED,     /* rejected the content */
	GS_VERDICT_ERROR         /* failed at run time */
} gs_verdict;

/* Final outcome of a call. */
typedef enum gs_outcome {
	GS_OUTCOME_NONE = 0,     /* no phase has run yet */
	GS_OUTCOME_PASS,
	GS_OUTCOME_MODIFIED,
	GS_OUTCOME_REJECTED,
	GS_OUTCOME_ERROR         /* a filter or the upstream failed: closed */
} gs_outcome;

#define GS_PLUGIN_MODIFIES 0x1u  /* the plugin may call gs_text_replace() */

typedef struct gs_config gs_config; /* one stack section, at load time */
typedef struct gs_ctx gs_ctx;       /* one filter running on one call */

/* One filter's part in a finished call, for finish() and reports. */
typedef struct gs_filter_report {
	const char *name;     /* instance (section) name */
	const char *module;   /* plugin name */
	gs_verdict verdict;   /* of the last phase it ran in */
	unsigned long count;  /* sum of gs_count() over the call */
	const char *count_unit; /* e.g. "redactions" */
} gs_filter_report;

/* Everything finish() may know about a call.  Never message content, never
 * a key.  `size` is sizeof as the core was built: fields are appended only,
 * so check it before reading a field newer than your ABI minor.  Unknown
 * numbers are -1, unknown strings NULL.  Valid during finish() only. */
typedef struct gs_call_info {
	size_t size;
	const char *stack;        /* stack name */
	const char *call_id;      /* 16 hex digits, unique per call */
	const char *model;        /* request's model, or NULL */
	gs_outcome outcome;
	const char *rejected_by;  /* first failing filter, or NULL */
	const char *reason;       /* its reason, or NULL */
	long messages;            /* request messages */
	long input_chars;         /* code points in request texts */
	long output_chars;        /* code points in response texts */
	long prompt_tokens, completion_tokens, total_tokens;
	const char *finish_reason;
	double latency_ms;        /* first phase start to finish() */
	int upstream_status;      /* HTTP status, or -1 */
	const char *key_fingerprint; /* a few hex digits of SHA-256, or NULL */
	size_t nfilters;
	const gs_filter_report *filters;
} gs_call_info;

typedef struct gs_plugin {
	/* Fill these three with GS_PLUGIN_HEADER. */
	uint16_t abi_major;
	uint16_t abi_minor;
	uint32_t size;           /* sizeof(gs_plugin) the plugin was built with */

	const char *name;        /* must equal the file name without ".so" */
	const char *description; /* one line, for `guardstack check` */
	const char *version;     /* free form, may be NULL */
	unsigned phases;         /* GS_PHASE_* bits it supports; may be 0 */
	unsigned flags;          /* GS_PLUGIN_* */
	const char *count_unit;  /* what gs_count() counts; NULL: "matches" */

	/* Build an instance from the section's settings.  Read every setting
	 * through gs_config_*; any key left unread is an "unknown key" error.
	 * On failure call gs_config_error() and return a negative GS_E* code;
	 * *instance is then ignored.  May be NULL (no settings, no state). */
	int (*create)(gs_config *cfg, void **instance);

	/* Phase callbacks: required for every phase listed in `phases`. */
	gs_result (*request)(void *instance, gs_ctx *ctx);
	gs_result (*response)(void *instance, gs_ctx *ctx);

	/* Once per call, after the last phase, for every instance, whatever
	 * the outcome.  Optional. */
	void (*finish)(void *instance, gs_ctx *ctx, const gs_call_info *info);

	/* Frees what create() made.  Required when create is set. */
	void (*destroy)(void *instance);

	void *reserved[8]; /* room to grow without a major bump; keep NULL */
} gs_plugin;

#define GS_PLUGIN_HEADER \
	.abi_major = GS_PLUGIN_ABI_MAJOR, .abi_minor = GS_PLUGIN_ABI_MINOR, \
	.size = sizeof(gs_plugin)

/* The symbol the loader looks up. */
#define GS_PLUGIN_SYMBOL "gs_plugin_entry"

/* ---- memory ---------------------------------------------------------- */

/* The core's allocator.  gs_alloc returns NULL on failure (also when a
 * test injects one).  gs_free(NULL) is a no-op. */
void *gs_alloc(size_t n);
void *gs_calloc(size_t n, size_t size);
void *gs_realloc(void *p, size_t n);
void gs_free(void *p);
char *gs_strndup(const char *s, size_t n);

/* ---- growable buffer ------------------------------------------------- */

/* A byte buffer that keeps a NUL after its content.  Zero-initialise it
 * (GS_BUF_INIT); the owner frees it with gs_buf_free().  On allocation
 * failure an append returns GS_ENOMEM and leaves the content unchanged. */
typedef struct gs_buf {
	char *data; /* NULL until something is appended */
	size_t len;
	size_t cap;
} gs_buf;
#define GS_BUF_INIT { NULL, 0, 0 }

int gs_buf_reserve(gs_buf *b, size_t extra);
int gs_buf_append(gs_buf *b, const char *s, size_t n);
/* gs_buf_append with its common case (room already there) inline, for
 * code that builds a line from many small pieces; GS_BUF_LIT appends a
 * string literal.  Calls only gs_buf_append, so a plugin using it needs
 * nothing newer of the core. */
static inline int gs_buf_add(gs_buf *b, const char *s, size_t n)
{
	if (b->cap - b->len <= n)
		return gs_buf_append(b, s, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return GS_OK;
}
#define GS_BUF_LIT(b, lit) gs_buf_add((b), (lit), sizeof(lit) - 1)
int gs_buf_puts(gs_buf *b, const char *s);
int gs_buf_putc(gs_buf *b, char c);
int gs_buf_printf(gs_buf *b, const char *fmt, ...) GS_PRINTF(2, 3);
void gs_buf_reset(gs_buf *b); /* len = 0, keeps memory */
void gs_buf_free(gs_buf *b);
/* Gives up ownership of the data to the caller (free with gs_free);
 * the buffer is empty afterwards.  Never NULL unless out of memory. */
char *gs_buf_steal(gs_buf *b, size_t *len);

/* ---- UTF-8 ----------------------------------------------------------- */

/* Returns the offset of the first byte that is not well-formed UTF-8
 * (overlongs, surrogates and values past U+10FFFF are not), or `len`
 * when all of s is valid. */
size_t gs_utf8_check(const char *s, size_t len);
/* Number of code points in valid UTF-8. */
size_t gs_utf8_count(const char *s, size_t len);
/* Largest n <= max such that s[0..n) does not split a sequence. */
size_t gs_utf8_floor(const char *s, size_t len, size_t max);

/* ---- configuration (inside create) ----------------------------------- */

/* Each getter marks its key as read.  Absent keys leave *out at the default
 * and return 0.  A present but bad value sets the error (FILE:LINE: ...) and
 * returns GS_EINVAL. */
int gs_config_str(gs_config *cfg, const char *key, const char *def,
		  const char **out); /* borrowed; valid until create returns */
int gs_config_long(gs_config *cfg, const char *key, long min, long max,
		   long def, long *out);
int gs_config_bool(gs_config *cfg, const char *key, int def, int *out);
/* `choices` is a NULL-terminated list; *out is the index of the match. */
int gs_config_enum(gs_config *cfg, const char *key, const char *const *choices,
		   int def, int *out);
/* A file path; a relative one is taken from the stack file's directory.
 * *out is allocated (gs_free), or NULL when the key is absent. */
int gs_config_path(gs_config *cfg, const char *key, char **out);
/* Directory of the stack file that defines this section (borrowed,
 * valid until create returns): where a plugin's default files live. */
const char *gs_config_dir(const gs_config *cfg);
/* Whether the key is present (does not mark it read). */
int gs_config_has(const gs_config *cfg, const char *key);
/* The section and stack this instance belongs to. */
const char *gs_config_instance(const gs_config *cfg);
/* The stack file's `strict` setting: 1 unless the stack says strict = no.
 * Plugins that read files should refuse unsafe ones when it is 1, with
 * gs_config_check_file(). */
int gs_config_strict(const gs_config *cfg);
/* Refuses (GS_EPERM, error set) a file that is group/other-writable or not
 * owned by root or the user, or one in such a directory, when strict. */
int gs_config_check_file(gs_config *cfg, const char *key, const char *path);
/* Sets the error for this section: "FILE:LINE: instance: message", where
 * LINE is the key's line (or the section's when key is NULL). */
int gs_config_error(gs_config *cfg, const char *key, const char *fmt, ...)
	GS_PRINTF(3, 4);
/* Same, for an error inside a file the plugin reads (a rules file). */
int gs_config_error_at(gs_config *cfg, const char *file, long line,
		       const char *fmt, ...) GS_PRINTF(4, 5);

/* ---- content (inside phase callbacks) -------------------------------- */

/* The texts this filter applies to in this phase: by default the user and
 * tool messages in the request phase and the assistant's answer in the
 * response phase (the section's `roles =` changes that).  A message whose
 * content is an array of chunks gives one text per `type: text` chunk. */
size_t gs_text_count(gs_ctx *ctx);
const char *gs_text_get(gs_ctx *ctx, size_t i, size_t *len);
/* The role of the message text i belongs to ("user", "assistant", ...). */
const char *gs_text_role(gs_ctx *ctx, size_t i);
/* Index of the message text i belongs to, in gs_msg_* numbering. */
size_t gs_text_message(gs_ctx *ctx, size_t i);
/* Replaces text i with a copy of s[0..len).  s must be valid UTF-8 without
 * NUL bytes; the plugin must declare GS_PLUGIN_MODIFIES.  GS_EINVAL
 * otherwise, GS_ENOMEM on allocation failure. */
int gs_text_replace(gs_ctx *ctx, size_t i, const char *s, size_t len);
/* Same, taking the buffer's memory instead of copying; b is left empty. */
int gs_text_replace_buf(gs_ctx *ctx, size_t i, gs_buf *b);

/* The loop every rewriting filter needs.  For each of the filter's
 * texts, fn appends a rewritten copy to out and returns how many changes
 * it made (0: nothing to change and nothing appended; < 0: a GS_E*).
 * Changed texts are replaced (no copy when nothing changed) and the
 * changes counted with gs_count.  Returns GS_RESULT_OK, or
 * GS_RESULT_ERROR with a reason set. */
typedef long (*gs_rewrite_fn)(void *arg, const char *s, size_t len,
			      gs_buf *out);
gs_result gs_text_rewrite(gs_ctx *ctx, gs_rewrite_fn fn, void *arg);

/* Whole-conversation view, for filters that need more than their texts
 * (a prompt wrapper, a leak detector).  Messages are those of the request
 * in the request phase; in the response phase `gs_msg_*` still reads the
 * request (the answer is reached through gs_text_*).  Text of a message is
 * its chunks joined; NULL (and *len 0) for a message without text. */
size_t gs_msg_count(gs_ctx *ctx);
const char *gs_msg_role(gs_ctx *ctx, size_t m);
const char *gs_msg_text(gs_ctx *ctx, size_t m, size_t *len);
/* Request phase only, GS_PLUGIN_MODIFIES only: insert a message at
 * position m (0 = first), or set the text of message m (its chunks are
 * replaced by one string). */
int gs_msg_insert(gs_ctx *ctx, size_t m, const char *role, const char *s,
		  size_t len);
int gs_msg_set_text(gs_ctx *ctx, size_t m, const char *s, size_t len);
/* Request phase only, GS_PLUGIN_MODIFIES only: removes message m. */
int gs_msg_remove(gs_ctx *ctx, size_t m);

/* Which phase is running. */
gs_phase gs_ctx_phase(gs_ctx *ctx);
/* Sets the reason for a GS_RESULT_REJECT (or GS_RESULT_ERROR) result.
 * Keep it free of content: it is logged and shown to callers. */
void gs_reject(gs_ctx *ctx, const char *fmt, ...) GS_PRINTF(2, 3);
/* Adds n to this filter's count for the call ("3 redactions"). */
void gs_count(gs_ctx *ctx, unsigned long n);
/* Per-call, per-instance state: survives from the request phase to the
 * response phase and finish(); `free_fn` (may be NULL) runs when the call
 * ends.  Setting again frees the previous value. */
int gs_ctx_set_data(gs_ctx *ctx, void *data, void (*free_fn)(void *));
void *gs_ctx_get_data(gs_ctx *ctx);
/* Fills n bytes from the kernel's CSPRNG (getrandom(2), read ahead a page
 * per thread; a forked child never repeats its parent's bytes); GS_EIO on
 * failure. */
int gs_random(void *buf, size_t n);

/* ---- regular expressions: PCRE2 with JIT ----------------------------- */

typedef struct gs_rx gs_rx;
typedef struct gs_span { size_t start, end; } gs_span; /* byte offsets */

#define GS_RX_CASELESS 0x1u  /* Unicode-aware caseless matching */
#define GS_RX_MULTILINE 0x2u
#define GS_RX_DOTALL 0x4u
#define GS_RX_EXTENDED 0x8u
#define GS_RX_UCP 0x10u      /* \w, \d, \b use Unicode properties */

/* Compiles a UTF-8 pattern with JIT and the core's match and depth limits.
 * On error writes "message at offset N" to err and returns GS_EINVAL. */
int gs_rx_compile(gs_rx **out, const char *pattern, unsigned flags,
		  char *err, size_t errlen);
void gs_rx_free(gs_rx *rx);
/* Number of capture groups. */
unsigned gs_rx_groups(const gs_rx *rx);
/* Finds the first match in s[start..len).  Fills up to ngroups spans
 * (group 0 first; an unset group is {-1,-1} cast to size_t).  Returns 1 on
 * a match, 0 on none, GS_ELIMIT when the match limit was hit, GS_ENOMEM.
 * ctx may be NULL outside calls (slower: allocates per call). */
int gs_rx_find(const gs_rx *rx, gs_ctx *ctx, const char *s, size_t len,
	       size_t start, gs_span *groups, unsigned ngroups);

/* Decides a replacement for one match: append it to `out` and return 1,
 * return 0 to keep the match as it is, or a negative GS_E* to stop. */
typedef int (*gs_rx_replace_fn)(void *arg, const char *s, size_t len,
				const gs_span *groups, unsigned ngroups,
				gs_buf *out);
/* Replaces every non-overlapping match of rx in s with `fn`'s output (or
 * the fixed string `rep` when fn is NULL), appending the result to out.
 * Returns the number of replacements, or a negative GS_E* (out is then
 * back as it was).  When it returns 0, nothing was appended: the text is
 * unchanged and costs no copy. */
long gs_rx_replace(const gs_rx *rx, gs_ctx *ctx, const char *s, size_t len,
		   gs_rx_replace_fn fn, void *arg, const char *rep,
		   gs_buf *out);

#ifdef __cplusplus
}
#endif
#endif
