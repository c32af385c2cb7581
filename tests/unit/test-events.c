// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of lib/bj-events: strict parsing of dm-blockjob event messages
 * built by hand (as the kernel lays them out: nlmsghdr, genlmsghdr, u64s
 * padded with ATTR_PAD), the QEMU names, the error action, and the JSON and
 * text output.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "bj-dm.h"
#include "bj-events.h"
#include "bj-json.h"
#include "event-text.h"

static int failed;

#define CHECK(cond, ...) do { \
	if (cond) { printf("ok - "); } else { printf("not ok - "); failed++; } \
	printf(__VA_ARGS__); putchar('\n'); \
} while (0)

#define FAMILY 0x1d

struct msgbuf {
	unsigned char b[1024] __attribute__((aligned(4)));
	size_t len;
};

static void msg_start(struct msgbuf *m, int type, uint8_t cmd)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)m->b;
	struct genlmsghdr *gh;

	memset(m, 0, sizeof(*m));
	nlh->nlmsg_type = type;
	gh = (struct genlmsghdr *)(m->b + NLMSG_HDRLEN);
	gh->cmd = cmd;
	gh->version = DM_BLOCKJOB_GENL_VERSION;
	m->len = NLMSG_HDRLEN + GENL_HDRLEN;
}

static void put_attr(struct msgbuf *m, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)(m->b + m->len);

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy(m->b + m->len + NLA_HDRLEN, data, len);
	m->len += NLA_ALIGN(NLA_HDRLEN + len);
}

static void put_u32(struct msgbuf *m, uint16_t type, uint32_t v)
{
	put_attr(m, type, &v, 4);
}

/* As nla_put_u64_64bit(): a PAD attribute first if the payload would be misaligned for 8. */
static void put_u64(struct msgbuf *m, uint16_t type, uint64_t v)
{
	if ((m->len + NLA_HDRLEN) % 8)
		put_attr(m, DM_BLOCKJOB_ATTR_PAD, NULL, 0);
	put_attr(m, type, &v, 8);
}

static void put_str(struct msgbuf *m, uint16_t type, const char *s)
{
	put_attr(m, type, s, strlen(s) + 1);
}

static void msg_end(struct msgbuf *m)
{
	((struct nlmsghdr *)m->b)->nlmsg_len = m->len;
}

/* A complete event as bj_netlink_send() builds it. */
static void kernel_event(struct msgbuf *m, uint32_t event, const char *dev, uint32_t state,
			 int32_t error, const char *where)
{
	msg_start(m, FAMILY, DM_BLOCKJOB_CMD_EVENT);
	put_u32(m, DM_BLOCKJOB_ATTR_EVENT, event);
	put_str(m, DM_BLOCKJOB_ATTR_DEVICE, dev);
	put_u32(m, DM_BLOCKJOB_ATTR_DEV, (253 << 8) | 3);
	put_u32(m, DM_BLOCKJOB_ATTR_TYPE, DM_BLOCKJOB_TYPE_MIRROR);
	put_u32(m, DM_BLOCKJOB_ATTR_STATE, state);
	put_u64(m, DM_BLOCKJOB_ATTR_LEN, 268435456);
	put_u64(m, DM_BLOCKJOB_ATTR_OFFSET, 134217728);
	put_u64(m, DM_BLOCKJOB_ATTR_SPEED, 1048576);
	if (error)
		put_attr(m, DM_BLOCKJOB_ATTR_ERROR, &error, 4);
	if (where)
		put_str(m, DM_BLOCKJOB_ATTR_ERROR_MSG, where);
	msg_end(m);
}

static int parse(struct msgbuf *m, struct bj_event *e, char *err)
{
	err[0] = 0;
	return bj_event_parse(m->b, m->len, FAMILY, e, err);
}

/* The line 'blockjob events --json' prints for @e. */
static char *json_of(const struct bj_event *e, const char *action)
{
	struct json_object *o = bj_event_json(e, action);
	char *text, *line;

	if (!o)
		abort();
	text = bj_json_text(o, BJ_JSON_QEMU);
	json_object_put(o);
	if (!text || asprintf(&line, "%s\n", text) < 0)
		abort();
	free(text);
	return line;
}

static char *text_of(const struct bj_event *e, const char *action)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	bj_event_print_text(f, e, action);
	fclose(f);
	return buf;
}

static void test_good(void)
{
	char err[BJ_ERRLEN];
	struct msgbuf m;
	struct bj_event e;
	int r;

	kernel_event(&m, DM_BLOCKJOB_EVENT_READY, "vol0", DM_BLOCKJOB_STATE_READY, 0, NULL);
	r = parse(&m, &e, err);
	CHECK(r == 0, "a kernel-shaped READY event parses (%s)", err);
	CHECK(e.event == DM_BLOCKJOB_EVENT_READY && !strcmp(e.device, "vol0") &&
	      e.dev == ((253 << 8) | 3) && e.type == DM_BLOCKJOB_TYPE_MIRROR &&
	      e.state == DM_BLOCKJOB_STATE_READY, "header fields decoded");
	CHECK(e.len == 268435456 && e.offset == 134217728 && e.speed == 1048576,
	      "u64 fields decoded across PAD attributes");
	CHECK(e.error == 0 && e.error_msg[0] == 0, "no error when none sent");

	kernel_event(&m, DM_BLOCKJOB_EVENT_ERROR, "vol0", DM_BLOCKJOB_STATE_RUNNING, -5,
		     "target-write");
	r = parse(&m, &e, err);
	CHECK(r == 0 && e.error == -5 && !strcmp(e.error_msg, "target-write"),
	      "ERROR event with errno and location");

	/* An attribute newer than the library is skipped. */
	kernel_event(&m, DM_BLOCKJOB_EVENT_PROGRESS, "vol0", DM_BLOCKJOB_STATE_RUNNING, 0, NULL);
	put_u32(&m, DM_BLOCKJOB_ATTR_MAX + 5, 7);
	msg_end(&m);
	r = parse(&m, &e, err);
	CHECK(r == 0 && e.event == DM_BLOCKJOB_EVENT_PROGRESS, "unknown (newer) attribute ignored");

	/* The longest device name dm allows (127 bytes) fits. */
	{
		char name[BJ_EVENT_DEVICE_MAX];

		memset(name, 'a', sizeof(name) - 1);
		name[sizeof(name) - 1] = 0;
		kernel_event(&m, DM_BLOCKJOB_EVENT_READY, name, DM_BLOCKJOB_STATE_READY, 0, NULL);
		CHECK(parse(&m, &e, err) == 0 && strlen(e.device) == 127, "127-byte device name");
	}
}

static void expect_bad(struct msgbuf *m, const char *what)
{
	char err[BJ_ERRLEN];
	struct bj_event e;
	int r = parse(m, &e, err);

	CHECK(r == -EBADMSG && err[0], "rejected: %s (%s)", what, err);
}

static void test_bad(void)
{
	struct msgbuf m;
	uint64_t v64 = 1;
	uint32_t v32 = 1;
	char big[200];

	kernel_event(&m, DM_BLOCKJOB_EVENT_READY, "vol0", DM_BLOCKJOB_STATE_READY, 0, NULL);
	m.len = 10;
	expect_bad(&m, "buffer shorter than nlmsghdr");

	kernel_event(&m, DM_BLOCKJOB_EVENT_READY, "vol0", DM_BLOCKJOB_STATE_READY, 0, NULL);
	m.len -= 4;
	expect_bad(&m, "nlmsg_len beyond the buffer");

	msg_start(&m, FAMILY, DM_BLOCKJOB_CMD_EVENT);
	m.len = NLMSG_HDRLEN + 2;
	msg_end(&m);
	expect_bad(&m, "no room for the genl header");

	kernel_event(&m, DM_BLOCKJOB_EVENT_READY, "vol0", DM_BLOCKJOB_STATE_READY, 0, NULL);
	((struct nlmsghdr *)m.b)->nlmsg_type = FAMILY + 1;
	expect_bad(&m, "another family");

	kernel_event(&m, DM_BLOCKJOB_EVENT_READY, "vol0", DM_BLOCKJOB_STATE_READY, 0, NULL);
	((struct genlmsghdr *)(m.b + NLMSG_HDRLEN))->cmd = 7;
	expect_bad(&m, "unknown command");

	msg_start(&m, FAMILY, DM_BLOCKJOB_CMD_EVENT);
	put_attr(&m, DM_BLOCKJOB_ATTR_EVENT, &v64, 8);
	put_str(&m, DM_BLOCKJOB_ATTR_DEVICE, "vol0");
	put_u32(&m, DM_BLOCKJOB_ATTR_TYPE, 1);
	put_u32(&m, DM_BLOCKJOB_ATTR_STATE, 1);
	msg_end(&m);
	expect_bad(&m, "u32 attribute of 8 bytes");

	msg_start(&m, FAMILY, DM_BLOCKJOB_CMD_EVENT);
	put_u32(&m, DM_BLOCKJOB_ATTR_EVENT, 2);
	put_str(&m, DM_BLOCKJOB_ATTR_DEVICE, "vol0");
	put_u32(&m, DM_BLOCKJOB_ATTR_TYPE, 1);
	put_u32(&m, DM_BLOCKJOB_ATTR_STATE, 1);
	put_attr(&m, DM_BLOCKJOB_ATTR_LEN, &v32, 4);
	msg_end(&m);
	expect_bad(&m, "u64 attribute of 4 bytes");

	msg_start(&m, FAMILY, DM_BLOCKJOB_CMD_EVENT);
	put_u32(&m, DM_BLOCKJOB_ATTR_EVENT, 2);
	put_attr(&m, DM_BLOCKJOB_ATTR_DEVICE, "vol0", 4);
	put_u32(&m, DM_BLOCKJOB_ATTR_TYPE, 1);
	put_u32(&m, DM_BLOCKJOB_ATTR_STATE, 1);
	msg_end(&m);
	expect_bad(&m, "device name without NUL");

	msg_start(&m, FAMILY, DM_BLOCKJOB_CMD_EVENT);
	put_u32(&m, DM_BLOCKJOB_ATTR_EVENT, 2);
	put_attr(&m, DM_BLOCKJOB_ATTR_DEVICE, "vo\0l0", 6);
	put_u32(&m, DM_BLOCKJOB_ATTR_TYPE, 1);
	put_u32(&m, DM_BLOCKJOB_ATTR_STATE, 1);
	msg_end(&m);
	expect_bad(&m, "device name with an embedded NUL");

	msg_start(&m, FAMILY, DM_BLOCKJOB_CMD_EVENT);
	put_u32(&m, DM_BLOCKJOB_ATTR_EVENT, 2);
	put_attr(&m, DM_BLOCKJOB_ATTR_DEVICE, "", 1);
	put_u32(&m, DM_BLOCKJOB_ATTR_TYPE, 1);
	put_u32(&m, DM_BLOCKJOB_ATTR_STATE, 1);
	msg_end(&m);
	expect_bad(&m, "empty device name");

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	kernel_event(&m, DM_BLOCKJOB_EVENT_READY, big, DM_BLOCKJOB_STATE_READY, 0, NULL);
	expect_bad(&m, "device name longer than the kernel's limit");

	big[70] = 0;
	kernel_event(&m, DM_BLOCKJOB_EVENT_ERROR, "vol0", DM_BLOCKJOB_STATE_RUNNING, -5, big);
	expect_bad(&m, "error location longer than 63 bytes");

	kernel_event(&m, DM_BLOCKJOB_EVENT_READY, "vol0", DM_BLOCKJOB_STATE_READY, 0, NULL);
	put_u32(&m, DM_BLOCKJOB_ATTR_STATE, 1);
	msg_end(&m);
	expect_bad(&m, "duplicate attribute");

	msg_start(&m, FAMILY, DM_BLOCKJOB_CMD_EVENT);
	put_u32(&m, DM_BLOCKJOB_ATTR_EVENT, 2);
	put_u32(&m, DM_BLOCKJOB_ATTR_TYPE, 1);
	put_u32(&m, DM_BLOCKJOB_ATTR_STATE, 1);
	msg_end(&m);
	expect_bad(&m, "missing DEVICE");

	msg_start(&m, FAMILY, DM_BLOCKJOB_CMD_EVENT);
	put_str(&m, DM_BLOCKJOB_ATTR_DEVICE, "vol0");
	put_u32(&m, DM_BLOCKJOB_ATTR_TYPE, 1);
	put_u32(&m, DM_BLOCKJOB_ATTR_STATE, 1);
	msg_end(&m);
	expect_bad(&m, "missing EVENT");

	kernel_event(&m, 0, "vol0", DM_BLOCKJOB_STATE_READY, 0, NULL);
	expect_bad(&m, "event number 0");

	kernel_event(&m, DM_BLOCKJOB_EVENT_ERROR, "vol0", DM_BLOCKJOB_STATE_RUNNING, 5, "x");
	expect_bad(&m, "positive errno");

	kernel_event(&m, DM_BLOCKJOB_EVENT_READY, "vol0", DM_BLOCKJOB_STATE_READY, 0, NULL);
	put_attr(&m, 0, &v32, 4);
	msg_end(&m);
	expect_bad(&m, "attribute type 0");

	kernel_event(&m, DM_BLOCKJOB_EVENT_READY, "vol0", DM_BLOCKJOB_STATE_READY, 0, NULL);
	put_u32(&m, DM_BLOCKJOB_ATTR_DEV | NLA_F_NESTED, 1);
	msg_end(&m);
	expect_bad(&m, "attribute with the nested flag");

	kernel_event(&m, DM_BLOCKJOB_EVENT_READY, "vol0", DM_BLOCKJOB_STATE_READY, 0, NULL);
	((struct nlattr *)(m.b + m.len))->nla_len = 200;	/* runs past the message */
	((struct nlattr *)(m.b + m.len))->nla_type = DM_BLOCKJOB_ATTR_DEV;
	m.len += 8;
	msg_end(&m);
	expect_bad(&m, "attribute running past the end");
}

static void test_names(void)
{
	CHECK(!strcmp(bj_event_name(DM_BLOCKJOB_EVENT_STATUS_CHANGE), "JOB_STATUS_CHANGE") &&
	      !strcmp(bj_event_name(DM_BLOCKJOB_EVENT_READY), "BLOCK_JOB_READY") &&
	      !strcmp(bj_event_name(DM_BLOCKJOB_EVENT_COMPLETED), "BLOCK_JOB_COMPLETED") &&
	      !strcmp(bj_event_name(DM_BLOCKJOB_EVENT_CANCELLED), "BLOCK_JOB_CANCELLED") &&
	      !strcmp(bj_event_name(DM_BLOCKJOB_EVENT_ERROR), "BLOCK_JOB_ERROR") &&
	      !strcmp(bj_event_name(DM_BLOCKJOB_EVENT_PROGRESS), "BLOCK_JOB_PROGRESS") &&
	      !strcmp(bj_event_name(99), "UNKNOWN_EVENT"), "QEMU event names");
	CHECK(!strcmp(bj_event_state_name(DM_BLOCKJOB_STATE_STANDBY), "standby") &&
	      !strcmp(bj_event_state_name(DM_BLOCKJOB_STATE_CONCLUDED), "concluded") &&
	      !strcmp(bj_event_state_name(42), "unknown"), "state names");
	CHECK(!strcmp(bj_event_type_name(DM_BLOCKJOB_TYPE_BACKUP), "backup") &&
	      !strcmp(bj_event_type_name(DM_BLOCKJOB_TYPE_MIRROR), "mirror"), "type names");
}

static void test_action(void)
{
	struct bj_event e = { .event = DM_BLOCKJOB_EVENT_ERROR, .state = DM_BLOCKJOB_STATE_RUNNING };

	strcpy(e.error_msg, "target-write");
	CHECK(!strcmp(bj_event_operation(&e), "write"), "target-write is a write");
	CHECK(!strcmp(bj_event_action(&e, "4 on_source_error ignore on_target_error stop"), "stop"),
	      "action from on_target_error");
	CHECK(!strcmp(bj_event_action(&e, "2 sync full"), "report"), "default policy is report");
	CHECK(!strcmp(bj_event_action(&e, "2 xon_target_error stop"), "report"),
	      "feature words match whole");
	strcpy(e.error_msg, "source-read");
	CHECK(!strcmp(bj_event_operation(&e), "read"), "source-read is a read");
	CHECK(!strcmp(bj_event_action(&e, "4 on_source_error ignore on_target_error stop"), "ignore"),
	      "action from on_source_error");
	CHECK(!strcmp(bj_event_action(&e, NULL), "report"), "no table: running means report");
	e.state = DM_BLOCKJOB_STATE_STANDBY;
	CHECK(!strcmp(bj_event_action(&e, NULL), "stop"), "no table: standby means stop");
}

static void test_output(void)
{
	char err[BJ_ERRLEN], *s;
	struct msgbuf m;
	struct bj_event e;

	kernel_event(&m, DM_BLOCKJOB_EVENT_READY, "vol\"0", DM_BLOCKJOB_STATE_READY, 0, NULL);
	parse(&m, &e, err);
	e.ts.tv_sec = 1700000000;
	e.ts.tv_usec = 123456;
	s = json_of(&e, NULL);
	CHECK(!strcmp(s, "{\"event\": \"BLOCK_JOB_READY\", \"timestamp\": {\"seconds\": 1700000000, "
		      "\"microseconds\": 123456}, \"data\": {\"device\": \"vol\\\"0\", \"type\": \"mirror\", "
		      "\"len\": 268435456, \"offset\": 134217728, \"speed\": 1048576, "
		      "\"status\": \"ready\"}}\n"), "READY as JSON, name escaped: %s", s);
	free(s);

	kernel_event(&m, DM_BLOCKJOB_EVENT_STATUS_CHANGE, "vol0", DM_BLOCKJOB_STATE_PAUSED, 0, NULL);
	parse(&m, &e, err);
	e.ts.tv_sec = 5;
	e.ts.tv_usec = 7;
	s = json_of(&e, NULL);
	CHECK(!strcmp(s, "{\"event\": \"JOB_STATUS_CHANGE\", \"timestamp\": {\"seconds\": 5, "
		      "\"microseconds\": 7}, \"data\": {\"id\": \"vol0\", \"status\": \"paused\", "
		      "\"device\": \"vol0\", \"type\": \"mirror\"}}\n"), "JOB_STATUS_CHANGE as JSON: %s", s);
	free(s);

	kernel_event(&m, DM_BLOCKJOB_EVENT_ERROR, "vol0", DM_BLOCKJOB_STATE_RUNNING, -EIO,
		     "target-write");
	parse(&m, &e, err);
	e.ts.tv_sec = 5;
	e.ts.tv_usec = 7;
	s = json_of(&e, "stop");
	CHECK(!strcmp(s, "{\"event\": \"BLOCK_JOB_ERROR\", \"timestamp\": {\"seconds\": 5, "
		      "\"microseconds\": 7}, \"data\": {\"device\": \"vol0\", \"operation\": \"write\", "
		      "\"action\": \"stop\", \"status\": \"running\", \"error\": \"Input/output error\", "
		      "\"error-location\": \"target-write\"}}\n"), "BLOCK_JOB_ERROR as JSON: %s", s);
	free(s);

	kernel_event(&m, DM_BLOCKJOB_EVENT_COMPLETED, "vol0", DM_BLOCKJOB_STATE_CONCLUDED, -ENOSPC,
		     "target-write");
	parse(&m, &e, err);
	s = json_of(&e, NULL);
	CHECK(strstr(s, "\"event\": \"BLOCK_JOB_COMPLETED\"") &&
	      strstr(s, "\"error\": \"No space left on device\""), "failed COMPLETED carries error: %s", s);
	free(s);

	kernel_event(&m, DM_BLOCKJOB_EVENT_PROGRESS, "vol0", DM_BLOCKJOB_STATE_RUNNING, 0, NULL);
	parse(&m, &e, err);
	s = text_of(&e, NULL);
	CHECK(strstr(s, " vol0 BLOCK_JOB_PROGRESS: mirror running, 128 MiB of 256 MiB (50.0%), speed limit 1.0 MiB/s\n") != NULL,
	      "PROGRESS as text: %s", s);
	free(s);

	kernel_event(&m, DM_BLOCKJOB_EVENT_ERROR, "vol0", DM_BLOCKJOB_STATE_RUNNING, -EIO, "source-read");
	parse(&m, &e, err);
	s = text_of(&e, "ignore");
	CHECK(strstr(s, " vol0 BLOCK_JOB_ERROR: mirror running, read error (source-read), action ignore: Input/output error\n") != NULL,
	      "ERROR as text: %s", s);
	free(s);
}

int main(void)
{
	test_good();
	test_bad();
	test_names();
	test_action();
	test_output();
	printf("%s\n", failed ? "FAILED" : "all passed");
	return failed ? 1 : 0;
}
