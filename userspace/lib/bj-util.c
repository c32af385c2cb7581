// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bj-util.h"

bool bj_have_cap_sys_admin(void)
{
	char line[256];
	unsigned long long eff;
	bool have = false;
	FILE *f;

	f = fopen("/proc/self/status", "re");
	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			have = eff & (1ULL << 21);	/* CAP_SYS_ADMIN */
	fclose(f);
	return have;
}

int bj_parse_size(const char *s, bool rate, uint64_t *out)
{
	unsigned long long v;
	uint64_t mult = 1;
	char *end;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (toupper((unsigned char)*end)) {
	case 'K':
		mult = 1ULL << 10;
		end++;
		break;
	case 'M':
		mult = 1ULL << 20;
		end++;
		break;
	case 'G':
		mult = 1ULL << 30;
		end++;
		break;
	case 'T':
		mult = 1ULL << 40;
		end++;
		break;
	}
	if (mult > 1 && *end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (rate && strcmp(end, "/s") == 0)
		end += 2;
	if (*end)
		return -EINVAL;
	if (v && mult > UINT64_MAX / v)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int bj_parse_seconds(const char *s, unsigned int max_s, int64_t *ms)
{
	double secs;
	char *end;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	secs = strtod(s, &end);
	if (end == s || *end || isnan(secs) || secs < 0 || signbit(secs))
		return -EINVAL;
	if (errno == ERANGE && secs > 1)
		return -ERANGE;
	if (secs > max_s)
		return -ERANGE;
	/* rounded up, without libm (the CLI's host test builds link none) */
	secs *= 1000;
	*ms = (int64_t)secs;
	if (*ms < secs)
		(*ms)++;
	return 0;
}

const char *bj_human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	unsigned int u = 0;

	while (v >= 1024 && u < sizeof(units) / sizeof(units[0]) - 1) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.*f %s", v < 10 ? 1 : 0, v, units[u]);
	return buf;
}
