// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of lib/bj-json (UTF-8 in strings, QEMU's text layout), of
 * lib/bj-status-json (the object of 'status --json' and 'list --json') and
 * of the DM UUIDs of lib/bj-dm.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bj-dm.h"
#include "bj-json.h"
#include "bj-status-json.h"

static int failed;

#define CHECK(cond, ...) do { \
	if (cond) { printf("ok - "); } else { printf("not ok - "); failed++; } \
	printf(__VA_ARGS__); putchar('\n'); \
} while (0)

/* The text of @o (consumed), as 'blockjob ... --json' prints it. */
static char *text(struct json_object *o, enum bj_json_layout layout)
{
	char *t;

	if (!o)
		abort();
	t = bj_json_text(o, layout);
	json_object_put(o);
	if (!t)
		abort();
	return t;
}

static char *str_json(const char *s)
{
	return text(bj_json_string(s), BJ_JSON_QEMU);
}

static void test_utf8(void)
{
	static const struct {
		const char *in, *out, *what;
	} cases[] = {
		{ "vol0", "\"vol0\"", "ASCII as it is" },
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"", "a 2-byte character kept" },
		{ "\xe2\x82\xac \xf0\x9f\x92\xbe", "\"\xe2\x82\xac \xf0\x9f\x92\xbe\"",
		  "3- and 4-byte characters kept" },
		{ "a\xffz", "\"a\xef\xbf\xbdz\"", "0xff replaced" },
		{ "\x80x", "\"\xef\xbf\xbdx\"", "a stray continuation byte replaced" },
		{ "\xc3", "\"\xef\xbf\xbd\"", "a sequence cut by the end replaced" },
		{ "\xe2\x82x", "\"\xef\xbf\xbd\xef\xbf\xbdx\"", "a cut 3-byte sequence: each byte" },
		{ "\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"", "an overlong '/' replaced" },
		{ "\xe0\x80\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"", "an overlong 3-byte form" },
		{ "\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"", "a surrogate replaced" },
		{ "\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"",
		  "beyond U+10FFFF replaced" },
		{ "q\"b\\s/t\n\x01", "\"q\\\"b\\\\s/t\\n\\u0001\"",
		  "quote, backslash, control characters escaped; '/' not" },
	};
	char buf[8];
	size_t i, n;
	char *s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = str_json(cases[i].in);
		CHECK(!strcmp(s, cases[i].out), "string: %s", cases[i].what);
		free(s);
	}
	n = bj_utf8_sanitize("ab\xe2\x82\xac\xff", buf, 4);
	CHECK(n == 8 && !strcmp(buf, "ab"), "sanitize: cut at a character boundary (%zu, %s)", n,
	      buf);
	n = bj_utf8_sanitize("ab\xe2\x82\xac\xff", buf, sizeof(buf));
	CHECK(n == 8 && !strcmp(buf, "ab\xe2\x82\xac"), "sanitize: the replacement does not fit");
	CHECK(bj_utf8_sanitize(NULL, NULL, 0) == 0, "sanitize: NULL is empty");
}

static void test_layout(void)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	char *s;

	bj_json_add_str(o, "name", "x");
	bj_json_add_u64(o, "big", 18446744073709551615ULL);
	bj_json_add_bool(o, "t", true);
	bj_json_add(o, "none", NULL);
	json_object_array_add(a, json_object_new_int(1));
	json_object_array_add(a, json_object_new_object());
	json_object_array_add(a, json_object_new_array());
	bj_json_add(o, "list", a);
	s = text(json_object_get(o), BJ_JSON_QEMU);
	CHECK(!strcmp(s, "{\"name\": \"x\", \"big\": 18446744073709551615, \"t\": true, "
		      "\"none\": null, \"list\": [1, {}, []]}"), "QEMU's layout: %s", s);
	free(s);
	s = text(o, BJ_JSON_QEMU_IMG);
	CHECK(!strncmp(s, "{ \"name\": \"x\", ", 15), "qemu-img's layout: %s", s);
	free(s);
	s = text(json_object_new_array(), BJ_JSON_QEMU);
	CHECK(!strcmp(s, "[]"), "an empty list");
	free(s);
}

static struct bj_status status(const char *mode, const char *state, const char *result,
			       const char *last_error)
{
	struct bj_status s = { .done = 4096, .len = 8192, .sectors = 16 };

	snprintf(s.mode, sizeof(s.mode), "%s", mode);
	snprintf(s.state, sizeof(s.state), "%s", state);
	snprintf(s.result, sizeof(s.result), "%s", result);
	snprintf(s.last_error, sizeof(s.last_error), "%s", last_error);
	return s;
}

/* Parse @s back with json-c; the member @key of the object, as text ("absent" if none). */
static const char *member(const char *s, const char *key, char *buf, size_t len)
{
	struct json_object *o = json_tokener_parse(s), *v;

	if (!o)
		return "unparsable";
	if (!json_object_object_get_ex(o, key, &v))
		snprintf(buf, len, "absent");
	else
		snprintf(buf, len, "%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return buf;
}

static void test_status(void)
{
	struct bj_memory m = { 1, 2, 3 };
	struct bj_status s;
	char *t, b[128];

	s = status("mirror", "ready", "-", "-");
	t = text(bj_status_json("vol0", &s, &m, "253:2"), BJ_JSON_QEMU);
	CHECK(!strcmp(t, "{\"device\": \"vol0\", \"type\": \"mirror\", \"status\": \"ready\", "
		      "\"len\": 8192, \"offset\": 4096, \"speed\": 0, \"ready\": true, "
		      "\"paused\": false, \"busy\": true, \"io-status\": \"ok\", "
		      "\"auto-finalize\": true, \"auto-dismiss\": false, \"mode\": \"mirror\", "
		      "\"result\": \"-\", \"dirty-regions\": 0, \"errors\": 0, \"last-error\": \"-\", "
		      "\"bitmaps\": 0, \"size\": 8192, \"extra\": \"\", \"memory\": {\"state\": 1, "
		      "\"copies\": 2, \"bitmaps\": 3}, \"metadata\": \"253:2\"}"),
	      "status: a ready mirror: %s", t);
	CHECK(!strcmp(member(t, "error", b, sizeof(b)), "absent"), "status: no error when none");
	free(t);

	s = status("backup", "concluded", "failed", "target-write:-28");
	t = text(bj_status_json("vol0", &s, NULL, ""), BJ_JSON_QEMU);
	CHECK(!strcmp(member(t, "error", b, sizeof(b)), "\"No space left on device\""),
	      "status: a failed job's error is its errno's text (%s)", b);
	CHECK(!strcmp(member(t, "memory", b, sizeof(b)), "null") &&
	      !strcmp(member(t, "metadata", b, sizeof(b)), "null"),
	      "status: no memory, no metadata: null");
	free(t);

	s = status("mirror", "concluded", "failed", "-");
	t = text(bj_status_json("vol0", &s, NULL, NULL), BJ_JSON_QEMU);
	CHECK(!strcmp(member(t, "error", b, sizeof(b)), "\"the job failed\""),
	      "status: failed without an errno (%s)", b);
	free(t);

	s = status("mirror", "concluded", "cancelled", "source-read:-5");
	t = text(bj_status_json("vol0", &s, NULL, NULL), BJ_JSON_QEMU);
	CHECK(!strcmp(member(t, "error", b, sizeof(b)), "absent"), "status: cancelled: no error");
	free(t);

	s = status("passthrough", "idle", "-", "-");
	t = text(bj_status_json("v\xff", &s, NULL, NULL), BJ_JSON_QEMU);
	CHECK(!strcmp(member(t, "type", b, sizeof(b)), "\"none\"") &&
	      !strcmp(member(t, "device", b, sizeof(b)), "\"v\xef\xbf\xbd\""),
	      "status: passthrough is type none; the name made valid UTF-8");
	free(t);
}

static void test_uuid(void)
{
	static const uint8_t id[BJ_DM_ID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
						  15, 16 };
	char u[64], v[64], err[BJ_ERRLEN];

	CHECK(!bj_dm_new_uuid(BJ_DM_UUID_VOLUME, id, u, sizeof(u), err) &&
	      !strcmp(u, "BLOCKJOB-VOL-01020304-0506-0708-090a-0b0c0d0e0f10"),
	      "uuid: a volume's from its metadata uuid: %s", u);
	CHECK(!bj_dm_new_uuid(BJ_DM_UUID_VIEW, NULL, u, sizeof(u), err) &&
	      !bj_dm_new_uuid(BJ_DM_UUID_VIEW, NULL, v, sizeof(v), err) &&
	      !strncmp(u, "BLOCKJOB-VIEW-", 14) && strlen(u) == 14 + 36 && strcmp(u, v),
	      "uuid: views' random and distinct: %s", u);
	CHECK(bj_dm_new_uuid(BJ_DM_UUID_VOLUME, id, u, 20, err) == -ENAMETOOLONG,
	      "uuid: too small a buffer is refused");
}

int main(void)
{
	test_utf8();
	test_layout();
	test_status();
	test_uuid();
	printf("%s\n", failed ? "FAILED" : "all passed");
	return failed ? 1 : 0;
}
