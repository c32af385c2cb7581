// SPDX-License-Identifier: GPL-2.0
/*
 * Job events from the "dm-blockjob" generic netlink family. libnl resolves
 * the family and its group and joins it; receiving is a plain recvmsg() on
 * the socket so that the sender (the kernel, port 0), truncation and
 * overruns are checked here, and each message goes through
 * bj_event_parse(): genlmsg_parse() with a policy, plus the checks libnl
 * does not make.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "bj-dm.h"
#include "bj-events.h"
#include "bj-json.h"
#include "bj-util.h"

#define BJ_EVENTS_BUFSIZE	32768
#define BJ_EVENTS_RCVBUF	(1 << 20)

struct bj_events {
	struct nl_sock *sk;
	int fd;
	int family;
	int group;
	size_t len, off;		/* bytes in @buf, next message */
	struct timeval ts;		/* when @buf was received */
	unsigned char buf[BJ_EVENTS_BUFSIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
};

/*
 * The policy, for genlmsg_parse(): exact sizes for numbers (minlen from the
 * type, maxlen the same), strings NUL-terminated (libnl checks the last
 * byte) of 1 to max - 1 bytes. PAD is not checked.
 */
static const struct nla_policy bj_policy[DM_BLOCKJOB_ATTR_MAX + 1] = {
	[DM_BLOCKJOB_ATTR_EVENT] = { .type = NLA_U32, .maxlen = 4 },
	[DM_BLOCKJOB_ATTR_DEVICE] = { .type = NLA_STRING, .minlen = 2,
				      .maxlen = BJ_EVENT_DEVICE_MAX },
	[DM_BLOCKJOB_ATTR_DEV] = { .type = NLA_U32, .maxlen = 4 },
	[DM_BLOCKJOB_ATTR_TYPE] = { .type = NLA_U32, .maxlen = 4 },
	[DM_BLOCKJOB_ATTR_STATE] = { .type = NLA_U32, .maxlen = 4 },
	[DM_BLOCKJOB_ATTR_LEN] = { .type = NLA_U64, .maxlen = 8 },
	[DM_BLOCKJOB_ATTR_OFFSET] = { .type = NLA_U64, .maxlen = 8 },
	[DM_BLOCKJOB_ATTR_SPEED] = { .type = NLA_U64, .maxlen = 8 },
	[DM_BLOCKJOB_ATTR_ERROR] = { .type = NLA_U32, .maxlen = 4 },	/* an s32 */
	[DM_BLOCKJOB_ATTR_ERROR_MSG] = { .type = NLA_STRING, .minlen = 2,
					 .maxlen = BJ_EVENT_ERRMSG_MAX },
};

static const char *const bj_attr_name[DM_BLOCKJOB_ATTR_MAX + 1] = {
	[DM_BLOCKJOB_ATTR_EVENT] = "EVENT",
	[DM_BLOCKJOB_ATTR_DEVICE] = "DEVICE",
	[DM_BLOCKJOB_ATTR_DEV] = "DEV",
	[DM_BLOCKJOB_ATTR_TYPE] = "TYPE",
	[DM_BLOCKJOB_ATTR_STATE] = "STATE",
	[DM_BLOCKJOB_ATTR_LEN] = "LEN",
	[DM_BLOCKJOB_ATTR_OFFSET] = "OFFSET",
	[DM_BLOCKJOB_ATTR_SPEED] = "SPEED",
	[DM_BLOCKJOB_ATTR_ERROR] = "ERROR",
	[DM_BLOCKJOB_ATTR_ERROR_MSG] = "ERROR_MSG",
	[DM_BLOCKJOB_ATTR_PAD] = "PAD",
};

static const int bj_required[] = {
	DM_BLOCKJOB_ATTR_EVENT, DM_BLOCKJOB_ATTR_DEVICE, DM_BLOCKJOB_ATTR_TYPE, DM_BLOCKJOB_ATTR_STATE,
};

/* One attribute against the policy (nla_validate() on it alone), with a message naming it. */
static int check_attr(struct nlattr *a, char *err)
{
	const struct nla_policy *p = &bj_policy[nla_type(a)];
	const char *name = bj_attr_name[nla_type(a)];
	int len = nla_len(a);

	if (nla_validate(a, nla_total_size(len), DM_BLOCKJOB_ATTR_MAX, bj_policy) < 0) {
		if (p->type == NLA_STRING)
			goto badstr;
		bj_seterr(err, "attribute %s: %d bytes, expected %u", name, len, p->maxlen);
		return -EBADMSG;
	}
	/* libnl checks the last byte only: no NUL before it either */
	if (p->type == NLA_STRING && strlen(nla_data(a)) != (size_t)len - 1)
		goto badstr;
	return 0;
badstr:
	bj_seterr(err, "attribute %s: not a NUL-terminated string of 1 to %u bytes", name,
		  p->maxlen - 1);
	return -EBADMSG;
}

/*
 * What libnl's parse lets through: flags in the type, type 0, an
 * attribute twice, bytes after the last one; each known attribute checked
 * against the policy, named. Attributes newer than us are skipped.
 */
static int check_attrs(struct nlattr *head, int len, char *err)
{
	uint32_t seen = 0;
	struct nlattr *a;
	int rem, type, r;

	nla_for_each_attr(a, head, len, rem) {
		type = nla_type(a);
		if (a->nla_type & ~NLA_TYPE_MASK) {
			bj_seterr(err, "attribute %d has nested/byte-order flags", type);
			return -EBADMSG;
		}
		if (type == DM_BLOCKJOB_ATTR_UNSPEC) {
			bj_seterr(err, "attribute of type 0");
			return -EBADMSG;
		}
		if (type > DM_BLOCKJOB_ATTR_MAX || type == DM_BLOCKJOB_ATTR_PAD)
			continue;
		r = check_attr(a, err);
		if (r)
			return r;
		if (seen & (1u << type)) {
			bj_seterr(err, "attribute %s appears twice", bj_attr_name[type]);
			return -EBADMSG;
		}
		seen |= 1u << type;
	}
	if (rem) {
		bj_seterr(err, "%d bytes of junk after the attributes", rem);
		return -EBADMSG;
	}
	return 0;
}

int bj_event_parse(const void *buf, size_t len, int family, struct bj_event *e, char *err)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlattr *tb[DM_BLOCKJOB_ATTR_MAX + 1];
	struct genlmsghdr *gh;
	size_t i;
	int r;

	memset(e, 0, sizeof(*e));
	if (len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > len) {
		bj_seterr(err, "truncated netlink message (%zu bytes)", len);
		return -EBADMSG;
	}
	if (nlh->nlmsg_type != family) {
		bj_seterr(err, "message of type %u, not of family %d", nlh->nlmsg_type, family);
		return -EBADMSG;
	}
	if (!genlmsg_valid_hdr(nlh, 0)) {
		bj_seterr(err, "message too short for a generic netlink header");
		return -EBADMSG;
	}
	gh = nlmsg_data(nlh);
	if (gh->cmd != DM_BLOCKJOB_CMD_EVENT) {
		bj_seterr(err, "unknown command %u", gh->cmd);
		return -EBADMSG;
	}
	r = check_attrs(genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0), err);
	if (r)
		return r;
	r = genlmsg_parse(nlh, 0, tb, DM_BLOCKJOB_ATTR_MAX, bj_policy);
	if (r < 0) {
		bj_seterr(err, "malformed attributes: %s", nl_geterror(r));
		return -EBADMSG;
	}
	for (i = 0; i < sizeof(bj_required) / sizeof(bj_required[0]); i++) {
		if (!tb[bj_required[i]]) {
			bj_seterr(err, "event without %s", bj_attr_name[bj_required[i]]);
			return -EBADMSG;
		}
	}
	e->event = nla_get_u32(tb[DM_BLOCKJOB_ATTR_EVENT]);
	nla_strlcpy(e->device, tb[DM_BLOCKJOB_ATTR_DEVICE], sizeof(e->device));
	e->type = nla_get_u32(tb[DM_BLOCKJOB_ATTR_TYPE]);
	e->state = nla_get_u32(tb[DM_BLOCKJOB_ATTR_STATE]);
	if (tb[DM_BLOCKJOB_ATTR_DEV])
		e->dev = nla_get_u32(tb[DM_BLOCKJOB_ATTR_DEV]);
	if (tb[DM_BLOCKJOB_ATTR_LEN])
		e->len = nla_get_u64(tb[DM_BLOCKJOB_ATTR_LEN]);
	if (tb[DM_BLOCKJOB_ATTR_OFFSET])
		e->offset = nla_get_u64(tb[DM_BLOCKJOB_ATTR_OFFSET]);
	if (tb[DM_BLOCKJOB_ATTR_SPEED])
		e->speed = nla_get_u64(tb[DM_BLOCKJOB_ATTR_SPEED]);
	if (tb[DM_BLOCKJOB_ATTR_ERROR])
		e->error = (int32_t)nla_get_u32(tb[DM_BLOCKJOB_ATTR_ERROR]);
	if (tb[DM_BLOCKJOB_ATTR_ERROR_MSG])
		nla_strlcpy(e->error_msg, tb[DM_BLOCKJOB_ATTR_ERROR_MSG], sizeof(e->error_msg));
	if (e->event == 0) {
		bj_seterr(err, "event number 0");
		return -EBADMSG;
	}
	if (e->error > 0) {
		bj_seterr(err, "positive errno %d", e->error);
		return -EBADMSG;
	}
	return 0;
}

int bj_events_open(struct bj_events **evp, char *err)
{
	struct bj_events *ev;
	int r;

	*evp = NULL;
	ev = calloc(1, sizeof(*ev));
	if (!ev) {
		bj_seterr(err, "out of memory");
		return -ENOMEM;
	}
	ev->sk = nl_socket_alloc();
	if (!ev->sk) {
		free(ev);
		bj_seterr(err, "out of memory");
		return -ENOMEM;
	}
	r = genl_connect(ev->sk);
	if (r < 0) {
		bj_seterr(err, "cannot open a generic netlink socket: %s", nl_geterror(r));
		r = -EIO;
		goto fail;
	}
	ev->fd = nl_socket_get_fd(ev->sk);
	ev->family = genl_ctrl_resolve(ev->sk, DM_BLOCKJOB_GENL_NAME);
	if (ev->family < 0) {
		r = ev->family;
		if (r == -NLE_OBJ_NOTFOUND) {
			bj_seterr(err, "the dm-blockjob module is not loaded (modprobe dm-blockjob)");
			r = -ENOENT;
		} else {
			bj_seterr(err, "cannot look up the %s netlink family: %s",
			       DM_BLOCKJOB_GENL_NAME, nl_geterror(r));
			r = -EIO;
		}
		goto fail;
	}
	ev->group = genl_ctrl_resolve_grp(ev->sk, DM_BLOCKJOB_GENL_NAME, DM_BLOCKJOB_GENL_MCGRP);
	if (ev->group < 0) {
		bj_seterr(err, "the %s netlink family has no \"%s\" group (module and CLI versions differ?)",
		       DM_BLOCKJOB_GENL_NAME, DM_BLOCKJOB_GENL_MCGRP);
		r = -EPROTO;
		goto fail;
	}
	/* Best effort: a burst of events should not overrun the socket. */
	nl_socket_set_buffer_size(ev->sk, BJ_EVENTS_RCVBUF, 0);
	r = nl_socket_add_membership(ev->sk, ev->group);
	if (r < 0) {
		if (r == -NLE_PERM || r == -NLE_NOACCESS) {
			bj_seterr(err, "permission denied: receiving dm-blockjob events needs CAP_SYS_ADMIN (run as root)");
			r = -EPERM;
		} else {
			bj_seterr(err, "cannot join the dm-blockjob events group: %s", nl_geterror(r));
			r = -EIO;
		}
		goto fail;
	}
	nl_socket_set_nonblocking(ev->sk);
	*evp = ev;
	return 0;
fail:
	nl_socket_free(ev->sk);
	free(ev);
	return r;
}

void bj_events_close(struct bj_events *ev)
{
	if (!ev)
		return;
	nl_socket_free(ev->sk);
	free(ev);
}

int bj_events_fd(const struct bj_events *ev)
{
	return ev->fd;
}

int bj_events_family(const struct bj_events *ev)
{
	return ev->family;
}

/* Receive one datagram into ev->buf. Returns 1, 0 (nothing pending) or -errno. */
static int fill(struct bj_events *ev, char *err)
{
	struct sockaddr_nl sa;
	struct iovec iov = { ev->buf, sizeof(ev->buf) };
	struct msghdr mh = {
		.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1,
	};
	ssize_t n;

	for (;;) {
		n = recvmsg(ev->fd, &mh, MSG_DONTWAIT);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == ENOBUFS) {
			bj_seterr(err, "events were lost: the receive buffer overran");
			return -ENOBUFS;
		}
		bj_seterr(err, "cannot receive events: %s", strerror(errno));
		return -errno;
	}
	if (mh.msg_flags & MSG_TRUNC) {
		bj_seterr(err, "an event larger than %zu bytes was truncated", sizeof(ev->buf));
		return -EBADMSG;
	}
	if (mh.msg_namelen != sizeof(sa) || sa.nl_family != AF_NETLINK || sa.nl_pid != 0) {
		bj_seterr(err, "ignored a message not sent by the kernel");
		return -EBADMSG;
	}
	gettimeofday(&ev->ts, NULL);
	ev->len = n;
	ev->off = 0;
	return 1;
}

int bj_events_read(struct bj_events *ev, struct bj_event *e, char *err)
{
	const struct nlmsghdr *nlh;
	int rem, r;

	for (;;) {
		if (ev->off >= ev->len) {
			ev->off = ev->len = 0;
			r = fill(ev, err);
			if (r <= 0)
				return r;
		}
		nlh = (const struct nlmsghdr *)(ev->buf + ev->off);
		rem = (int)(ev->len - ev->off);
		if (!NLMSG_OK(nlh, rem)) {
			ev->off = ev->len;
			bj_seterr(err, "truncated netlink message (%d bytes)", rem);
			return -EBADMSG;
		}
		ev->off += NLMSG_ALIGN(nlh->nlmsg_len);
		/* Anything else on the socket (acks, other families) is not ours. */
		if (nlh->nlmsg_type != ev->family)
			continue;
		r = bj_event_parse(nlh, nlh->nlmsg_len, ev->family, e, err);
		if (r)
			return r;
		e->ts = ev->ts;
		return 1;
	}
}

int bj_events_next(struct bj_events *ev, struct bj_event *e, int timeout_ms,
		   const sigset_t *sigmask, char *err)
{
	struct pollfd pfd = { .fd = ev->fd, .events = POLLIN };
	struct timespec ts, *tsp = NULL;
	int r;

	r = bj_events_read(ev, e, err);
	if (r)
		return r;
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
		tsp = &ts;
	}
	r = ppoll(&pfd, 1, tsp, sigmask);
	if (r < 0) {
		if (errno == EINTR)
			return -EINTR;
		bj_seterr(err, "cannot wait for events: %s", strerror(errno));
		return -errno;
	}
	if (!r)
		return 0;
	return bj_events_read(ev, e, err);
}

/* Names ----------------------------------------------------------------- */

const char *bj_event_name(uint32_t event)
{
	switch (event) {
	case DM_BLOCKJOB_EVENT_STATUS_CHANGE:
		return "JOB_STATUS_CHANGE";
	case DM_BLOCKJOB_EVENT_READY:
		return "BLOCK_JOB_READY";
	case DM_BLOCKJOB_EVENT_COMPLETED:
		return "BLOCK_JOB_COMPLETED";
	case DM_BLOCKJOB_EVENT_CANCELLED:
		return "BLOCK_JOB_CANCELLED";
	case DM_BLOCKJOB_EVENT_ERROR:
		return "BLOCK_JOB_ERROR";
	case DM_BLOCKJOB_EVENT_PROGRESS:
		return "BLOCK_JOB_PROGRESS";
	default:
		return "UNKNOWN_EVENT";
	}
}

const char *bj_event_type_name(uint32_t type)
{
	switch (type) {
	case DM_BLOCKJOB_TYPE_NONE:
		return "none";
	case DM_BLOCKJOB_TYPE_MIRROR:
		return "mirror";
	case DM_BLOCKJOB_TYPE_BACKUP:
		return "backup";
	default:
		return "unknown";
	}
}

const char *bj_event_state_name(uint32_t state)
{
	switch (state) {
	case DM_BLOCKJOB_STATE_IDLE:
		return "idle";
	case DM_BLOCKJOB_STATE_RUNNING:
		return "running";
	case DM_BLOCKJOB_STATE_PAUSED:
		return "paused";
	case DM_BLOCKJOB_STATE_READY:
		return "ready";
	case DM_BLOCKJOB_STATE_STANDBY:
		return "standby";
	case DM_BLOCKJOB_STATE_CONCLUDED:
		return "concluded";
	default:
		return "unknown";
	}
}

bool bj_event_is_state_change(const struct bj_event *e)
{
	return e->event != DM_BLOCKJOB_EVENT_PROGRESS;
}

const char *bj_event_operation(const struct bj_event *e)
{
	return strstr(e->error_msg, "write") ? "write" : "read";
}

/* The value of feature word @key in @features ("3 sync full on_target_error stop"). */
static const char *feature_value(const char *features, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	const char *p = features;

	while (p && *p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, klen) && p[klen] == ' ') {
			p += klen + 1;
			snprintf(buf, len, "%.*s", (int)strcspn(p, " "), p);
			return buf;
		}
		p += strcspn(p, " ");
	}
	return NULL;
}

const char *bj_event_action(const struct bj_event *e, const char *features)
{
	static const char *const actions[] = { "report", "ignore", "stop" };
	const char *key = NULL, *v;
	char buf[16];
	size_t i;

	if (!strncmp(e->error_msg, "source", 6))
		key = "on_source_error";
	else if (!strncmp(e->error_msg, "target", 6))
		key = "on_target_error";
	if (key && features) {
		v = feature_value(features, key, buf, sizeof(buf));
		for (i = 0; v && i < sizeof(actions) / sizeof(actions[0]); i++)
			if (!strcmp(v, actions[i]))
				return actions[i];
		return "report";	/* the kernel's default policy */
	}
	if (e->state == DM_BLOCKJOB_STATE_PAUSED || e->state == DM_BLOCKJOB_STATE_STANDBY)
		return "stop";
	return "report";
}

/* Output ---------------------------------------------------------------- */

static bool json_figures(struct json_object *d, const struct bj_event *e)
{
	return bj_json_add_str(d, "type", bj_event_type_name(e->type)) &&
	       bj_json_add_u64(d, "len", e->len) && bj_json_add_u64(d, "offset", e->offset) &&
	       bj_json_add_u64(d, "speed", e->speed);
}

/* QEMU's "data" of event @e. */
static bool json_data(struct json_object *d, const struct bj_event *e, const char *action)
{
	const char *status = bj_event_state_name(e->state);
	bool ok;

	switch (e->event) {
	case DM_BLOCKJOB_EVENT_STATUS_CHANGE:
		ok = bj_json_add_str(d, "id", e->device) && bj_json_add_str(d, "status", status) &&
		     bj_json_add_str(d, "device", e->device) &&
		     bj_json_add_str(d, "type", bj_event_type_name(e->type));
		break;
	case DM_BLOCKJOB_EVENT_ERROR:
		ok = bj_json_add_str(d, "device", e->device) &&
		     bj_json_add_str(d, "operation", bj_event_operation(e)) &&
		     bj_json_add_str(d, "action", action ? action : bj_event_action(e, NULL)) &&
		     bj_json_add_str(d, "status", status);
		break;
	default:
		ok = bj_json_add_str(d, "device", e->device) && json_figures(d, e) &&
		     bj_json_add_str(d, "status", status);
		break;
	}
	if (ok && e->error) {
		ok = bj_json_add_str(d, "error", strerror(-e->error));
		if (ok && e->error_msg[0])
			ok = bj_json_add_str(d, "error-location", e->error_msg);
	}
	return ok;
}

struct json_object *bj_event_json(const struct bj_event *e, const char *action)
{
	struct json_object *o = json_object_new_object(), *ts = json_object_new_object();
	struct json_object *d = json_object_new_object();

	if (!o || !ts || !d)
		goto fail;
	if (!bj_json_add_str(o, "event", bj_event_name(e->event)))
		goto fail;
	if (!bj_json_add_u64(ts, "seconds", (unsigned long long)e->ts.tv_sec) ||
	    !bj_json_add_u64(ts, "microseconds", (unsigned long long)e->ts.tv_usec))
		goto fail;
	if (!bj_json_add(o, "timestamp", ts)) {
		ts = NULL;
		goto fail;
	}
	ts = NULL;
	if (!json_data(d, e, action))
		goto fail;
	if (!bj_json_add(o, "data", d))
		d = NULL;
	else
		return o;
fail:
	json_object_put(d);
	json_object_put(ts);
	json_object_put(o);
	return NULL;
}

/* Waiting ---------------------------------------------------------------- */

#define BJ_WAIT_RECHECK_MS	2000

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How the last conclusion event of the volume said the job ended. */
static const char *event_result(const struct bj_event *e)
{
	if (e->event == DM_BLOCKJOB_EVENT_CANCELLED)
		return "cancelled";
	return e->error ? "failed" : "completed";
}

/*
 * Judge status @st: 1 reached, 0 not yet, negative errno (with @err) for
 * "will never be reached". @ended is the volume's conclusion event, if one
 * was seen (used once the volume is back in passthrough).
 */
static int judge(const char *name, enum bj_wait_for what, struct bj_status *st,
		 const struct bj_event *ended, char *err)
{
	bool concluded = !strcmp(st->state, "concluded");

	if (!strcmp(st->mode, "passthrough")) {
		if (!ended) {
			bj_seterr(err, "%s: no job runs on this volume", name);
			return -ESRCH;
		}
		/* Concluded and switched back by someone else: the events say how. */
		snprintf(st->mode, sizeof(st->mode), "%s", bj_event_type_name(ended->type));
		snprintf(st->state, sizeof(st->state), "concluded");
		snprintf(st->result, sizeof(st->result), "%s", event_result(ended));
		concluded = true;
	}
	if (what == BJ_WAIT_READY) {
		if (!strcmp(st->state, "ready") || !strcmp(st->state, "standby"))
			return 1;
		if (!strcmp(st->mode, "backup")) {
			bj_seterr(err, "%s: a backup job never becomes ready; wait --for concluded", name);
			return -EINVAL;
		}
		if (concluded) {
			const char *le = st->last_error[0] && strcmp(st->last_error, "-") ?
					 st->last_error : NULL;

			bj_seterr(err, "%s: the %s job concluded (%s) without becoming ready%s%s", name,
			       st->mode, st->result, le ? "; last error " : "", le ? le : "");
			return -ECANCELED;
		}
		return 0;
	}
	return concluded ? 1 : 0;
}

/* Is @e the event that ends the job on volume @name? */
static bool ends_job(const struct bj_event *e, const char *name)
{
	return !strcmp(e->device, name) &&
	       (e->event == DM_BLOCKJOB_EVENT_COMPLETED || e->event == DM_BLOCKJOB_EVENT_CANCELLED);
}

/*
 * Read what is already queued on @ev without blocking; remember the last
 * conclusion event of @name in @ended. Returns 1 if one was seen, 0 if not,
 * or a negative errno.
 */
static int drain_ended(struct bj_events *ev, const char *name, const sigset_t *sigmask,
		       struct bj_event *ended, char *err)
{
	struct bj_event e;
	int r, seen = 0;

	for (;;) {
		r = bj_events_next(ev, &e, 0, sigmask, err);
		if (r == -ENOBUFS || r == -EBADMSG)
			continue;
		if (r < 0)
			return r;
		if (r == 0)
			return seen;
		if (ends_job(&e, name)) {
			*ended = e;
			seen = 1;
		}
	}
}

int bj_wait_job(struct bj_events *ev, const char *name, enum bj_wait_for what,
		int64_t timeout_ms, const sigset_t *sigmask, bj_progress_fn progress,
		void *opaque, struct bj_status *st, char *err)
{
	struct bj_events *own = NULL;
	struct bj_event e, ended;
	bool have_ended = false, recheck = true;
	int64_t deadline = timeout_ms >= 0 ? mono_ms() + timeout_ms : -1;
	int64_t next_check = 0, now;
	int r, wait_ms;

	if (!ev) {
		r = bj_events_open(&own, err);
		if (r)
			return r;
		ev = own;
	}
	for (;;) {
		now = mono_ms();
		if (recheck || now >= next_check) {
			r = bj_dm_status(name, st, err);
			if (r)
				goto out;
			if (strcmp(st->mode, "passthrough") && progress)
				progress(opaque, st->done, st->len);
			else if (!have_ended) {
				/*
				 * Back in passthrough: the job concluded and was
				 * switched away, perhaps after we subscribed. Its
				 * conclusion event is then already queued here
				 * (the destructor sends pending events).
				 */
				r = drain_ended(ev, name, sigmask, &ended, err);
				if (r < 0)
					goto out;
				have_ended = r > 0;
			}
			r = judge(name, what, st, have_ended ? &ended : NULL, err);
			if (r) {
				if (r > 0)
					r = 0;
				goto out;
			}
			recheck = false;
			next_check = now + BJ_WAIT_RECHECK_MS;
		}
		if (deadline >= 0 && now >= deadline) {
			bj_seterr(err, "%s: timed out after %" PRId64 " s waiting for the job to become %s (it is %s)",
			       name, (timeout_ms + 999) / 1000,
			       what == BJ_WAIT_READY ? "ready" : "concluded", st->state);
			r = -ETIMEDOUT;
			goto out;
		}
		/* at most BJ_WAIT_RECHECK_MS: fits in an int whatever the timeout */
		wait_ms = (int)(next_check - now);
		if (deadline >= 0 && deadline - now < wait_ms)
			wait_ms = (int)(deadline - now);
		if (wait_ms < 0)
			wait_ms = 0;
		r = bj_events_next(ev, &e, wait_ms, sigmask, err);
		if (r == -EINTR)
			goto out;
		if (r == -ENOBUFS || r == -EBADMSG) {
			recheck = true;		/* lost or unreadable: ask dm */
			continue;
		}
		if (r < 0)
			goto out;
		if (r == 0 || strcmp(e.device, name))
			continue;
		if (e.event == DM_BLOCKJOB_EVENT_PROGRESS) {
			if (progress)
				progress(opaque, e.offset, e.len);
			continue;
		}
		if (ends_job(&e, name)) {
			ended = e;
			have_ended = true;
		}
		recheck = true;
	}
out:
	bj_events_close(own);
	return r;
}
