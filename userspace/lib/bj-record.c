// SPDX-License-Identifier: GPL-2.0
/*
 * The volume record's grammar (see bj-record.h): pure text handling.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bj-record.h"

const char *bj_record_job_name(enum bj_record_job job)
{
	switch (job) {
	case BJ_RECORD_MIRROR:
		return "mirror";
	case BJ_RECORD_BACKUP:
		return "backup";
	default:
		return "none";
	}
}

/* Bytes a value may hold as they are; the others are written %XX. */
static bool plain(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '%' && c != ',' && c != '=';
}

/* Append @s to @buf at *@n (escaping it if @escape); *@n counts past @len too. */
static void put(char *buf, size_t len, size_t *n, const char *s, bool escape)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[4];

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		size_t k, w = 1;

		e[0] = (char)c;
		if (escape && !plain(c)) {
			e[0] = '%';
			e[1] = hex[c >> 4];
			e[2] = hex[c & 15];
			w = 3;
		}
		for (k = 0; k < w; k++, (*n)++)
			if (*n + 1 < len)
				buf[*n] = e[k];
	}
	if (len)
		buf[*n < len ? *n : len - 1] = 0;
}

static void put_num(char *buf, size_t len, size_t *n, const char *key, uint64_t v)
{
	char num[48];

	snprintf(num, sizeof(num), ",%s=%" PRIu64, key, v);
	put(buf, len, n, num, false);
}

/* What format and parse both require: a home, a mirror's dest, a dest only with a job. */
static int consistent(const struct bj_record *rec, char *err)
{
	if (!rec->home[0]) {
		bj_seterr(err, "volume record without a home device");
		return -EINVAL;
	}
	if (rec->job == BJ_RECORD_MIRROR && !rec->dest[0]) {
		bj_seterr(err, "volume record: a mirror without its destination (dest)");
		return -EINVAL;
	}
	if (rec->job == BJ_RECORD_NO_JOB && rec->dest[0]) {
		bj_seterr(err, "volume record: a destination without a job");
		return -EINVAL;
	}
	if (rec->job == BJ_RECORD_NO_JOB && rec->opts[0]) {
		bj_seterr(err, "volume record: job options (opts) without a job");
		return -EINVAL;
	}
	return 0;
}

int bj_record_format(char *buf, size_t len, const struct bj_record *rec, char *err)
{
	size_t n = 0;
	int r;

	if (len)
		buf[0] = 0;
	r = consistent(rec, err);
	if (r)
		return r;
	put(buf, len, &n, "home=", false);
	put(buf, len, &n, rec->home, true);
	put_num(buf, len, &n, "home_off", rec->home_off);
	if (rec->job != BJ_RECORD_NO_JOB) {
		put(buf, len, &n, ",job=", false);
		put(buf, len, &n, bj_record_job_name(rec->job), false);
	}
	if (rec->dest[0]) {
		put(buf, len, &n, ",dest=", false);
		put(buf, len, &n, rec->dest, true);
		put_num(buf, len, &n, "dest_off", rec->dest_off);
	}
	if (rec->opts[0]) {
		put(buf, len, &n, ",opts=", false);
		put(buf, len, &n, rec->opts, true);
	}
	if (n > BJ_RECORD_MAX || n >= len) {
		bj_seterr(err, "the volume record would be %zu bytes; at most %zu fit (are the device identities that long?)",
			  n, len && len - 1 < BJ_RECORD_MAX ? len - 1 : (size_t)BJ_RECORD_MAX);
		if (len)
			buf[0] = 0;
		return -ENAMETOOLONG;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode the value @v (@n bytes) of @key into @out (@len bytes). */
static int unescape(const char *key, const char *v, size_t n, char *out, size_t len, char *err)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		int hi, lo;

		if (c == '%') {
			hi = i + 2 < n ? hexval(v[i + 1]) : -1;
			lo = i + 2 < n ? hexval(v[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (!hi && !lo)) {
				bj_seterr(err, "volume record: %s: '%%' not followed by two hex digits of a byte other than 0 at byte %zu of its value",
					  key, i);
				return -EINVAL;
			}
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c < 0x21 || c > 0x7e || c == '=') {
			bj_seterr(err, "volume record: %s: byte 0x%02x at byte %zu of its value (write it %%%02X)",
				  key, c, i, c);
			return -EINVAL;
		}
		if (o + 1 >= len) {
			bj_seterr(err, "volume record: %s: value longer than %zu bytes", key, len - 1);
			return -EINVAL;
		}
		out[o++] = (char)c;
	}
	out[o] = 0;
	return 0;
}

static int number(const char *key, const char *s, uint64_t *v, char *err)
{
	uint64_t x = 0;
	const char *p;

	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9' || x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) {
			bj_seterr(err, "volume record: %s=%s is not a number of sectors", key, s);
			return -EINVAL;
		}
		x = x * 10 + (uint64_t)(*p - '0');
	}
	if (p == s) {
		bj_seterr(err, "volume record: %s is empty", key);
		return -EINVAL;
	}
	*v = x;
	return 0;
}

enum { K_HOME, K_HOME_OFF, K_JOB, K_DEST, K_DEST_OFF, K_OPTS, K_COUNT };
static const char *const keys[K_COUNT] = { "home", "home_off", "job", "dest", "dest_off",
					   "opts" };

int bj_record_parse(const char *text, struct bj_record *rec, char *err)
{
	char val[BJ_ID_LEN];
	bool seen[K_COUNT] = { false };
	const char *f, *eq;
	size_t n, kl;
	int k, r;

	memset(rec, 0, sizeof(*rec));
	if (!*text) {
		bj_seterr(err, "empty volume record");
		return -EINVAL;
	}
	if (strlen(text) > BJ_RECORD_MAX) {
		bj_seterr(err, "volume record of %zu bytes (at most %d)", strlen(text), BJ_RECORD_MAX);
		return -EINVAL;
	}
	for (f = text;; f += n + 1) {
		n = strcspn(f, ",");
		eq = memchr(f, '=', n);
		if (!eq || eq == f) {
			bj_seterr(err, "volume record: field '%.*s' is not key=value", (int)n, f);
			return -EINVAL;
		}
		kl = (size_t)(eq - f);
		for (k = 0; k < K_COUNT; k++)
			if (strlen(keys[k]) == kl && !strncmp(f, keys[k], kl))
				break;
		r = unescape(k < K_COUNT ? keys[k] : "a field", eq + 1, n - kl - 1, val,
			     sizeof(val), err);
		if (r)
			return r;
		if (k < K_COUNT) {
			if (seen[k]) {
				bj_seterr(err, "volume record: %s given twice", keys[k]);
				return -EINVAL;
			}
			seen[k] = true;
		}
		switch (k) {
		case K_HOME:
			memcpy(rec->home, val, sizeof(val));
			break;
		case K_DEST:
			memcpy(rec->dest, val, sizeof(val));
			break;
		case K_OPTS:
			memcpy(rec->opts, val, sizeof(val));
			break;
		case K_HOME_OFF:
		case K_DEST_OFF:
			r = number(keys[k], val, k == K_HOME_OFF ? &rec->home_off : &rec->dest_off,
				   err);
			if (r)
				return r;
			break;
		case K_JOB:
			if (!strcmp(val, "mirror")) {
				rec->job = BJ_RECORD_MIRROR;
			} else if (!strcmp(val, "backup")) {
				rec->job = BJ_RECORD_BACKUP;
			} else {
				bj_seterr(err, "volume record: unknown job '%s' (mirror or backup)", val);
				return -EINVAL;
			}
			break;
		default:
			break;	/* a newer blockjob's key: skipped */
		}
		if (!f[n])
			break;
	}
	r = consistent(rec, err);
	if (r)
		return r;
	if (rec->job == BJ_RECORD_NO_JOB && (seen[K_DEST] || seen[K_DEST_OFF])) {
		bj_seterr(err, "volume record: a destination without a job");
		return -EINVAL;
	}
	if (seen[K_DEST_OFF] && !seen[K_DEST]) {
		bj_seterr(err, "volume record: dest_off without dest");
		return -EINVAL;
	}
	return 0;
}

int bj_record_home(const struct bj_record *rec, bool pivoted, const char **id, uint64_t *off,
		   char *err)
{
	if (!pivoted) {
		*id = rec->home;
		*off = rec->home_off;
		return 0;
	}
	if (rec->job != BJ_RECORD_MIRROR || !rec->dest[0]) {
		bj_seterr(err, "damaged volume record: the volume pivoted onto its mirror's destination, but the record names no mirror destination (job %s)",
			  bj_record_job_name(rec->job));
		return -EINVAL;
	}
	*id = rec->dest;
	*off = rec->dest_off;
	return 0;
}
