// SPDX-License-Identifier: GPL-2.0
/*
 * The probe of tests/host/nbd-handshake.sh, built there with
 * userspace/lib/bj-nbd.c and bj-nbd-proto.c (ASan/UBSan):
 *
 *   nbd-handshake handshake HOST PORT EXPORT
 *	TCP connect, bj_nbd_handshake(): "size=N flags=0xF" and exit 0 (then
 *	NBD_CMD_DISC), or "error N: LINE" and exit 1
 *   nbd-handshake connect VOLUME URL
 *	bj_nbd_connect(): "error N: LINE" and exit 1; "connected DEV" (then
 *	disconnected again) and exit 0
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bj-nbd.h"
#include "bj-nbd-proto.h"

static int handshake(const char *host, const char *port, const char *name)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	uint8_t disc[BJ_NBD_REQUEST_LEN];
	char err[BJ_ERRLEN] = "";
	uint64_t size;
	uint16_t tflags;
	int fd, r;

	if (getaddrinfo(host, port, &hints, &ai)) {
		printf("error: cannot resolve %s\n", host);
		return 2;
	}
	fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		printf("error: cannot connect to %s:%s\n", host, port);
		freeaddrinfo(ai);
		return 2;
	}
	freeaddrinfo(ai);
	r = bj_nbd_handshake(fd, name, 5, &size, &tflags, err);
	if (r) {
		printf("error %d: %s\n", r, err);
		close(fd);
		return 1;
	}
	printf("size=%llu flags=0x%x\n", (unsigned long long)size, tflags);
	/* the transmission phase: leave as a client should */
	if (send(fd, disc, bj_nbd_build_disc(disc, sizeof(disc)), MSG_NOSIGNAL) < 0)
		perror("send");
	close(fd);
	return 0;
}

static int nbd_connect(const char *volume, const char *url)
{
	struct bj_nbd_opts o = { .connect_timeout = 5 };
	char err[BJ_ERRLEN] = "", dev[32];
	uint64_t size;
	int r;

	r = bj_nbd_connect(volume, url, &o, dev, sizeof(dev), &size, err);
	if (r) {
		printf("error %d: %s\n", r, err);
		return 1;
	}
	printf("connected %s\n", dev);
	if (bj_nbd_disconnect(dev, err))
		printf("error: %s\n", err);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "handshake"))
		return handshake(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "connect"))
		return nbd_connect(argv[2], argv[3]);
	fprintf(stderr, "usage: nbd-handshake handshake HOST PORT EXPORT | connect VOLUME URL\n");
	return 2;
}
