// SPDX-License-Identifier: GPL-2.0
/*
 * nl-strict: send malformed requests to the "dm-blockjob" generic netlink
 * family and expect each to be refused with an error (never accepted, never
 * a crash). Raw sockets, no libnl: built static (cc -static) for the guest.
 *
 *   nl-strict requests   the malformed requests; exit 0 if all were refused
 *   nl-strict join       try to join the "events" group; prints the errno
 *                        name ("OK" if it worked) and exits 0 if it worked
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <uapi/linux/dm-blockjob.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

static int sock;
static uint32_t seq = 1;

struct req {
	struct nlmsghdr n;
	struct genlmsghdr g;
	unsigned char attrs[256];
} __attribute__((aligned(4)));

static size_t put_attr(unsigned char *p, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)p;

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy(p + NLA_HDRLEN, data, len);
	return NLA_ALIGN(NLA_HDRLEN + len);
}

/* Send @len bytes of @r; return the errno of the NLMSG_ERROR answer (0 = ack), or 1 for none. */
static int transact(struct req *r, size_t len)
{
	unsigned char buf[8192];
	struct nlmsghdr *h;
	ssize_t n;

	r->n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	r->n.nlmsg_seq = ++seq;
	if (send(sock, r, len, 0) < 0) {
		perror("send");
		exit(2);
	}
	for (;;) {
		n = recv(sock, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EAGAIN)
				return 1;	/* no answer within the timeout */
			perror("recv");
			exit(2);
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -((struct nlmsgerr *)NLMSG_DATA(h))->error;
			return 0;	/* a reply: accepted */
		}
	}
}

static int family_id(void)
{
	struct req r;
	unsigned char buf[8192];
	struct nlmsghdr *h;
	struct nlattr *a;
	ssize_t n;
	int len;

	memset(&r, 0, sizeof(r));
	r.n.nlmsg_type = GENL_ID_CTRL;
	r.n.nlmsg_flags = NLM_F_REQUEST;
	r.n.nlmsg_seq = ++seq;
	r.g.cmd = CTRL_CMD_GETFAMILY;
	r.g.version = 1;
	len = put_attr(r.attrs, CTRL_ATTR_FAMILY_NAME, DM_BLOCKJOB_GENL_NAME,
		       sizeof(DM_BLOCKJOB_GENL_NAME));
	r.n.nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN + len;
	if (send(sock, &r, r.n.nlmsg_len, 0) < 0)
		return -1;
	n = recv(sock, buf, sizeof(buf), 0);
	h = (struct nlmsghdr *)buf;
	if (n < 0 || !NLMSG_OK(h, n) || h->nlmsg_type == NLMSG_ERROR)
		return -1;
	a = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
	len = h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	while (len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
		if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
			return *(uint16_t *)((char *)a + NLA_HDRLEN);
		len -= NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
	}
	return -1;
}

/* The group id of "events", by a second GETFAMILY parse of the nested group list. */
static int group_id(void)
{
	struct req r;
	unsigned char buf[8192];
	struct nlmsghdr *h;
	struct nlattr *a, *g, *x;
	ssize_t n;
	int len, glen, xlen, id;

	memset(&r, 0, sizeof(r));
	r.n.nlmsg_type = GENL_ID_CTRL;
	r.n.nlmsg_flags = NLM_F_REQUEST;
	r.n.nlmsg_seq = ++seq;
	r.g.cmd = CTRL_CMD_GETFAMILY;
	r.g.version = 1;
	len = put_attr(r.attrs, CTRL_ATTR_FAMILY_NAME, DM_BLOCKJOB_GENL_NAME,
		       sizeof(DM_BLOCKJOB_GENL_NAME));
	r.n.nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN + len;
	if (send(sock, &r, r.n.nlmsg_len, 0) < 0)
		return -1;
	n = recv(sock, buf, sizeof(buf), 0);
	h = (struct nlmsghdr *)buf;
	if (n < 0 || !NLMSG_OK(h, n) || h->nlmsg_type == NLMSG_ERROR)
		return -1;
	a = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
	len = h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	for (; len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
	     len -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
		if ((a->nla_type & NLA_TYPE_MASK) != CTRL_ATTR_MCAST_GROUPS)
			continue;
		g = (struct nlattr *)((char *)a + NLA_HDRLEN);
		glen = a->nla_len - NLA_HDRLEN;
		for (; glen >= (int)NLA_HDRLEN && g->nla_len >= NLA_HDRLEN && g->nla_len <= glen;
		     glen -= NLA_ALIGN(g->nla_len), g = (struct nlattr *)((char *)g + NLA_ALIGN(g->nla_len))) {
			const char *name = NULL;

			id = -1;
			x = (struct nlattr *)((char *)g + NLA_HDRLEN);
			xlen = g->nla_len - NLA_HDRLEN;
			for (; xlen >= (int)NLA_HDRLEN && x->nla_len >= NLA_HDRLEN && x->nla_len <= xlen;
			     xlen -= NLA_ALIGN(x->nla_len), x = (struct nlattr *)((char *)x + NLA_ALIGN(x->nla_len))) {
				if ((x->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_MCAST_GRP_ID)
					id = *(uint32_t *)((char *)x + NLA_HDRLEN);
				else if ((x->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_MCAST_GRP_NAME)
					name = (char *)x + NLA_HDRLEN;
			}
			if (name && !strcmp(name, DM_BLOCKJOB_GENL_MCGRP))
				return id;
		}
	}
	return -1;
}

static int failures;

static void expect_refused(const char *what, struct req *r, size_t len)
{
	int e = transact(r, len);

	if (e > 0 && e != 1) {
		printf("ok - refused: %s (%s)\n", what, strerror(e));
	} else {
		printf("not ok - %s: %s\n", what, e == 0 ? "accepted" : "no answer");
		failures++;
	}
}

int main(int argc, char **argv)
{
	struct timeval tv = { 5, 0 };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct req r;
	uint32_t v = 1;
	int fam, grp;
	size_t len;

	if (argc != 2 || (strcmp(argv[1], "requests") && strcmp(argv[1], "join"))) {
		fprintf(stderr, "usage: nl-strict requests|join\n");
		return 2;
	}
	sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("netlink socket");
		return 2;
	}
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	fam = family_id();
	if (fam < 0) {
		fprintf(stderr, "nl-strict: family %s not found\n", DM_BLOCKJOB_GENL_NAME);
		return 2;
	}

	if (!strcmp(argv[1], "join")) {
		grp = group_id();
		if (grp < 0) {
			fprintf(stderr, "nl-strict: group %s not found\n", DM_BLOCKJOB_GENL_MCGRP);
			return 2;
		}
		if (setsockopt(sock, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp))) {
			printf("%s\n", errno == EPERM ? "EPERM" : strerror(errno));
			return 1;
		}
		printf("OK\n");
		return 0;
	}

	/* Commands: none is accepted from userspace (the family only multicasts). */
	memset(&r, 0, sizeof(r));
	r.n.nlmsg_type = fam;
	r.g.version = DM_BLOCKJOB_GENL_VERSION;
	r.n.nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN;
	r.g.cmd = DM_BLOCKJOB_CMD_UNSPEC;
	expect_refused("command 0 (UNSPEC)", &r, r.n.nlmsg_len);
	r.g.cmd = DM_BLOCKJOB_CMD_EVENT;
	expect_refused("command EVENT sent to the kernel", &r, r.n.nlmsg_len);
	r.g.cmd = 200;
	expect_refused("unknown command 200", &r, r.n.nlmsg_len);

	/* Bogus attributes on each command. */
	r.g.cmd = DM_BLOCKJOB_CMD_EVENT;
	len = put_attr(r.attrs, 250, &v, 4);
	r.n.nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN + len;
	expect_refused("unknown attribute 250", &r, r.n.nlmsg_len);
	len = put_attr(r.attrs, DM_BLOCKJOB_ATTR_EVENT, &v, 1);
	r.n.nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN + len;
	expect_refused("u32 attribute of 1 byte", &r, r.n.nlmsg_len);
	len = put_attr(r.attrs, DM_BLOCKJOB_ATTR_DEVICE, "abc", 3);
	r.n.nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN + len;
	expect_refused("string attribute without NUL", &r, r.n.nlmsg_len);
	r.g.cmd = 77;
	expect_refused("unknown command with a bogus attribute", &r, r.n.nlmsg_len);

	/* Malformed framing. */
	r.g.cmd = DM_BLOCKJOB_CMD_EVENT;
	r.n.nlmsg_len = NLMSG_HDRLEN + 2;
	expect_refused("genl header cut short", &r, NLMSG_HDRLEN + 4);
	r.n.nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN + 2;
	r.attrs[0] = 0xff;
	r.attrs[1] = 0xff;
	expect_refused("attribute header cut short", &r, NLMSG_HDRLEN + GENL_HDRLEN + 4);

	/* The family still answers sanely afterwards. */
	if (family_id() != fam) {
		printf("not ok - family lookup after the malformed requests\n");
		failures++;
	} else {
		printf("ok - family lookup still works\n");
	}
	return failures ? 1 : 0;
}
