/* SPDX-License-Identifier: GPL-2.0 */
/*
 * JSON through json-c: the strings libblockjob puts in JSON documents and
 * the text of a document. Nothing here prints: the caller writes the text.
 *
 * Strings are valid UTF-8 in the output: each byte of the input that is
 * not part of a well-formed UTF-8 sequence (a stray continuation byte, a
 * truncated, overlong or surrogate sequence, a code point beyond U+10FFFF)
 * becomes U+FFFD, the replacement character (a dm device name may hold any
 * byte but '/'). json-c escapes '"', '\' and control characters.
 *
 * The text has QEMU's layout, the one the CLI always printed:
 * {"key": value, "key": value} and [value, value], on one line.
 */
#ifndef BJ_JSON_H
#define BJ_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/* A JSON string of @s (NULL: ""), invalid UTF-8 replaced; NULL if out of memory. */
struct json_object *bj_json_string(const char *s);

/*
 * Copy @s (NUL-terminated) into @buf (@len bytes, NUL-terminated,
 * truncated at a character boundary) with invalid UTF-8 replaced by
 * U+FFFD. Returns the length the whole of it needs, as snprintf().
 */
size_t bj_utf8_sanitize(const char *s, char *buf, size_t len);

/* Text layouts of bj_json_text(). */
enum bj_json_layout {
	BJ_JSON_QEMU,		/* {"a": 1, "b": [1, 2]}: QMP's */
	BJ_JSON_QEMU_IMG,	/* { "a": 1, "b": 2}: qemu-img map's objects */
};

/*
 * The text of @o (malloc'ed, no trailing newline), or NULL if out of
 * memory. @o is not consumed.
 */
char *bj_json_text(struct json_object *o, enum bj_json_layout layout);

/*
 * Add @key to object @obj with value @val (NULL: JSON null), which it
 * takes; false if out of memory (@val is freed then). The short forms make
 * the value: false if that fails too.
 */
bool bj_json_add(struct json_object *obj, const char *key, struct json_object *val);
bool bj_json_add_str(struct json_object *obj, const char *key, const char *s);
bool bj_json_add_u64(struct json_object *obj, const char *key, unsigned long long v);
bool bj_json_add_bool(struct json_object *obj, const char *key, bool v);

#endif
