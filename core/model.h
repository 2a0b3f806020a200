/* SPDX-License-Identifier: MIT */
/*
 * model.h - the request and response as filters see them: a list of
 * messages, each with a role and zero or more text parts.  The JSON tree
 * they came from (if any) is kept so fields guardstack does not know about
 * pass through untouched; texts are written back when serialising.
 */
#ifndef GS_MODEL_H
#define GS_MODEL_H

#include <stddef.h>

struct cJSON;

struct gs__text {
	char *s;              /* owned, NUL-terminated, valid UTF-8 */
	size_t len;
	struct cJSON *node;   /* chunk object holding "text", or NULL */
	int dirty;
};

enum gs__content { GS__CONTENT_NONE = 0, GS__CONTENT_STRING, GS__CONTENT_CHUNKS };

struct gs__msg {
	unsigned role;         /* GS__ROLE_* bit */
	char *role_name;       /* owned */
	enum gs__content kind;
	struct gs__text *parts;
	size_t nparts;
	struct cJSON *obj;     /* the message object, or NULL when built */
	int borrowed;          /* obj belongs to the document's tree */
	int dirty;             /* content shape changed: rewrite whole */
	char *joined;          /* cache for gs_msg_text of chunked content */
	size_t joined_len;
};

struct gs__doc {
	struct gs__msg *msgs;
	size_t n, cap;
	struct cJSON *root;    /* parsed document, or NULL */
	int set;               /* a request/response has been given */
	int reordered;         /* messages inserted or removed */
	char *model;           /* request: model; response: model echoed */
	char *finish_reason;   /* response: first choice's */
	long usage[3];         /* prompt, completion, total; -1 unknown */
};

void gs__doc_init(struct gs__doc *d);
void gs__doc_clear(struct gs__doc *d);
/* Appends a message (role_name copied).  Returns its pointer or NULL. */
struct gs__msg *gs__doc_add(struct gs__doc *d, unsigned role,
			    const char *role_name);
int gs__doc_insert(struct gs__doc *d, size_t at, unsigned role,
		   const char *role_name, const char *s, size_t len);
void gs__doc_remove(struct gs__doc *d, size_t at);
/* Appends a text part (copied). */
int gs__msg_add_text(struct gs__msg *m, const char *s, size_t len,
		     struct cJSON *node);
/* Replaces every part with one string. */
int gs__msg_set_text(struct gs__msg *m, const char *s, size_t len);
/* Joined text of a message, allocated, or NULL when it has none. */
char *gs__msg_join(const struct gs__msg *m, size_t *len);

/* json.c */
int gs__parse_request(struct gs__doc *d, const char *json, size_t len,
		      size_t max, char **err);
int gs__parse_response(struct gs__doc *d, const char *json, size_t len,
		       size_t max, char **err);
char *gs__emit_request(struct gs__doc *d);
char *gs__emit_response(struct gs__doc *d);
/* Checks text for the core's input rules (valid UTF-8, no NUL) and sets
 * a message naming `where`. */
int gs__check_text(const char *s, size_t len, const char *where, char **err);

#endif
