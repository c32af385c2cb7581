// SPDX-License-Identifier: GPL-2.0
/*
 * JSON strings and text through json-c (see bj-json.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bj-json.h"

/* U+FFFD in UTF-8 */
static const char replacement[] = "\xef\xbf\xbd";

/* The length of the well-formed UTF-8 sequence at @s, or 0 (RFC 3629, table 3-7 of Unicode). */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;		/* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f;		/* surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90;		/* overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f;		/* beyond U+10FFFF */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)	/* the NUL ends it too */
			return 0;
	return n;
}

size_t bj_utf8_sanitize(const char *s, char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t need = 0, written = 0, n, w;
	bool full = false;

	for (; *p; p += n ? n : 1) {
		n = utf8_seq(p);
		w = n ? n : sizeof(replacement) - 1;
		/* whole characters only: once one does not fit, nothing more is written */
		if (!full && need + w < len) {
			memcpy(buf + need, n ? (const char *)p : replacement, w);
			written = need + w;
		} else {
			full = true;
		}
		need += w;
	}
	if (len)
		buf[written] = 0;
	return need;
}

struct json_object *bj_json_string(const char *s)
{
	struct json_object *o;
	size_t need;
	char *buf;

	need = bj_utf8_sanitize(s, NULL, 0);
	buf = malloc(need + 1);
	if (!buf)
		return NULL;
	bj_utf8_sanitize(s, buf, need + 1);
	o = json_object_new_string_len(buf, (int)need);
	free(buf);
	return o;
}

/* A growing text; @oom once an allocation failed. */
struct text {
	char *p;
	size_t n, cap;
	bool oom;
};

static void put(struct text *t, const char *s, size_t n)
{
	char *q;

	if (t->oom)
		return;
	if (t->n + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;

		while (t->n + n + 1 > cap)
			cap *= 2;
		q = realloc(t->p, cap);
		if (!q) {
			t->oom = true;
			return;
		}
		t->p = q;
		t->cap = cap;
	}
	memcpy(t->p + t->n, s, n);
	t->n += n;
	t->p[t->n] = 0;
}

static void puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

/* A scalar (or null) as json-c writes it: strings escaped, '/' not. */
static void scalar(struct text *t, struct json_object *o)
{
	puts_(t, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void value(struct text *t, struct json_object *o, enum bj_json_layout layout)
{
	const char *sep = "";
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_object:
		puts_(t, layout == BJ_JSON_QEMU_IMG ? "{ " : "{");
		json_object_object_foreach(o, key, v) {
			struct json_object *k = json_object_new_string(key);

			if (!k) {
				t->oom = true;
				return;
			}
			puts_(t, sep);
			scalar(t, k);
			json_object_put(k);
			puts_(t, ": ");
			value(t, v, layout);
			sep = ", ";
		}
		puts_(t, "}");
		break;
	case json_type_array:
		puts_(t, "[");
		n = json_object_array_length(o);
		for (i = 0; i < n; i++) {
			puts_(t, sep);
			value(t, json_object_array_get_idx(o, i), layout);
			sep = ", ";
		}
		puts_(t, "]");
		break;
	default:
		scalar(t, o);
		break;
	}
}

char *bj_json_text(struct json_object *o, enum bj_json_layout layout)
{
	struct text t = { 0 };

	value(&t, o, layout);
	if (t.oom || !t.p) {
		free(t.p);
		return NULL;
	}
	return t.p;
}

bool bj_json_add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (json_object_object_add(obj, key, val)) {
		json_object_put(val);
		return false;
	}
	return true;
}

bool bj_json_add_str(struct json_object *obj, const char *key, const char *s)
{
	struct json_object *v = bj_json_string(s);

	return v && bj_json_add(obj, key, v);
}

bool bj_json_add_u64(struct json_object *obj, const char *key, unsigned long long v)
{
	struct json_object *o = json_object_new_uint64(v);

	return o && bj_json_add(obj, key, o);
}

bool bj_json_add_bool(struct json_object *obj, const char *key, bool v)
{
	struct json_object *o = json_object_new_boolean(v);

	return o && bj_json_add(obj, key, o);
}
