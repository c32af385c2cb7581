// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bj-dm.h"
#include "bj-util.h"

/* libdevmapper logs through its own callback; keep it quiet, we report errors ourselves. */
static void quiet_log(int level, const char *file, int line, int dm_errno_or_class,
		      const char *f, ...)
{
	(void)level; (void)file; (void)line; (void)dm_errno_or_class; (void)f;
}

static void dm_setup_once(void)
{
	if (!getenv("BLOCKJOB_DM_DEBUG"))
		dm_log_with_errno_init(quiet_log);
	/*
	 * udev synchronisation is libdevmapper's call (dm_udev_set_sync_support
	 * is not touched): where udev runs, creates, removes and resumes wait
	 * for it (run_synced()); where none runs (minimal systems, initramfs,
	 * DM_DISABLE_UDEV=1), libdevmapper makes the /dev/mapper nodes itself.
	 */
}

/* Once per process, whichever thread comes first (libdevmapper's settings are global). */
static void dm_setup(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, dm_setup_once);
}

/* Why a dm_task could not be made: libdevmapper opens /dev/mapper/control first. */
static int no_task(const char *name, char *err)
{
	if (!bj_have_cap_sys_admin()) {
		bj_seterr(err, "cannot query %s: permission denied: device-mapper needs CAP_SYS_ADMIN (run as root)",
		       name ? name : "device-mapper");
		return -EPERM;
	}
	bj_seterr(err, "cannot set up a device-mapper request for %s (is dm-mod loaded?)",
	       name ? name : "device-mapper");
	return -ENOMEM;
}

static struct dm_task *task(int type, const char *name)
{
	struct dm_task *dmt;

	dm_setup();
	dmt = dm_task_create(type);
	if (!dmt)
		return NULL;
	if (name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

static int run(struct dm_task *dmt, const char *what, const char *name, char *err)
{
	int r = 0;

	if (!dm_task_run(dmt)) {
		r = dm_task_get_errno(dmt);
		r = r ? -r : -EIO;
		/* Without CAP_SYS_ADMIN, opening /dev/mapper/control fails before any ioctl. */
		if (r == -EACCES || r == -EPERM || (r == -EIO && !bj_have_cap_sys_admin())) {
			bj_seterr(err, "%s %s: permission denied: device-mapper needs CAP_SYS_ADMIN (run as root)",
			       what, name);
			return -EPERM;
		}
		bj_seterr(err, "%s %s: %s", what, name, strerror(-r));
	}
	return r;
}

/*
 * Run @dmt (a create, remove or resume: what makes udev act) with a udev
 * cookie carrying @flags (DM_UDEV_*), then wait until udev has processed
 * its event: on return /dev/mapper/NAME and udev's symlinks exist (or are
 * gone). Without udev synchronisation the cookie is 0 and dm_udev_wait()
 * makes or removes the nodes itself; @flags still reach udev's rules.
 */
static int run_synced(struct dm_task *dmt, uint16_t flags, const char *what, const char *name,
		      char *err)
{
	uint32_t cookie = 0;
	int r;

	if (!dm_task_set_cookie(dmt, &cookie, flags)) {
		bj_seterr(err, "%s %s: cannot set up udev synchronisation", what, name);
		return -ENOMEM;
	}
	r = run(dmt, what, name, err);
	/* also after a failure: libdevmapper released the cookie, this frees it */
	dm_udev_wait(cookie);
	return r;
}

#define BJ_DM_DIR	"/dev/mapper/"

_Static_assert(BJ_DM_NAME_MAX == DM_NAME_LEN - 1, "BJ_DM_NAME_MAX is the kernel's DM_NAME_LEN - 1");

int bj_dm_name(const char *arg, const char **name, char *err)
{
	const char *n = arg;
	size_t len;

	if (!strncmp(n, BJ_DM_DIR, strlen(BJ_DM_DIR)))
		n += strlen(BJ_DM_DIR);
	len = strlen(n);
	if (!len) {
		bj_seterr(err, "'%s' names no volume: give NAME or /dev/mapper/NAME", arg);
		return -EINVAL;
	}
	if (strchr(n, '/') || !strcmp(n, ".") || !strcmp(n, "..")) {
		bj_seterr(err, "'%.64s%s' is not a volume name: give NAME or /dev/mapper/NAME%s",
		       arg, strlen(arg) > 64 ? "..." : "",
		       strchr(n, '/') ? " (a device-mapper name has no '/')" : "");
		return -EINVAL;
	}
	if (len > BJ_DM_NAME_MAX) {
		bj_seterr(err, "the volume name '%.32s...' has %zu bytes: device-mapper names have at most %d; give a shorter NAME",
		       n, len, BJ_DM_NAME_MAX);
		return -ENAMETOOLONG;
	}
	*name = n;
	return 0;
}

bool bj_dm_exists(const char *name)
{
	struct dm_task *dmt = task(DM_DEVICE_INFO, name);
	struct dm_info info;
	bool exists = false;

	if (!dmt)
		return false;
	if (dm_task_run(dmt) && dm_task_get_info(dmt, &info))
		exists = info.exists;
	dm_task_destroy(dmt);
	return exists;
}

struct one_target {
	const char *params;
	uint64_t sectors;
};

static int one_target(void *opaque, size_t i, uint64_t *start, uint64_t *len, const char **type,
		      char *params, size_t plen)
{
	const struct one_target *t = opaque;

	*start = 0;
	*len = t->sectors;
	*type = BJ_TARGET;
	return (size_t)snprintf(params, plen, "%s", t->params) >= plen;
}

int bj_dm_create(const char *name, const char *uuid, unsigned int flags, const char *params,
		 uint64_t sectors, char *err)
{
	struct one_target t = { params, sectors };

	return bj_dm_create_table(name, uuid, flags, 1, one_target, &t, err);
}

int bj_dm_remove(const char *name, char *err)
{
	struct dm_task *dmt = task(DM_DEVICE_REMOVE, name);
	int r;

	if (!dmt)
		return no_task(name, err);
	dm_task_retry_remove(dmt);
	r = run_synced(dmt, 0, "cannot remove", name, err);
	dm_task_destroy(dmt);
	return r;
}

bool bj_dm_read_only(const char *name)
{
	struct dm_task *dmt = task(DM_DEVICE_INFO, name);
	struct dm_info info;
	bool ro = false;

	if (!dmt)
		return false;
	if (dm_task_run(dmt) && dm_task_get_info(dmt, &info) && info.exists)
		ro = info.read_only;
	dm_task_destroy(dmt);
	return ro;
}

int bj_dm_load(const char *name, const char *params, uint64_t sectors, char *err)
{
	struct dm_task *dmt = task(DM_DEVICE_RELOAD, name);
	int r;

	if (!dmt)
		return no_task(name, err);
	if (!dm_task_add_target(dmt, 0, sectors, BJ_TARGET, params)) {
		dm_task_destroy(dmt);
		return -ENOMEM;
	}
	/* A read-only volume stays read-only across the reloads of its jobs. */
	if (bj_dm_read_only(name))
		dm_task_set_ro(dmt);
	r = run(dmt, "cannot load a table into", name, err);
	dm_task_destroy(dmt);
	return r;
}

int bj_dm_clear(const char *name, char *err)
{
	struct dm_task *dmt = task(DM_DEVICE_CLEAR, name);
	int r;

	if (!dmt)
		return no_task(name, err);
	r = run(dmt, "cannot clear the inactive table of", name, err);
	dm_task_destroy(dmt);
	return r;
}

int bj_dm_suspend(const char *name, bool noflush, char *err)
{
	struct dm_task *dmt = task(DM_DEVICE_SUSPEND, name);
	int r;

	if (!dmt)
		return no_task(name, err);
	if (noflush)
		dm_task_no_flush(dmt);
	r = run(dmt, "cannot suspend", name, err);
	dm_task_destroy(dmt);
	return r;
}

int bj_dm_resume(const char *name, char *err)
{
	struct dm_task *dmt = task(DM_DEVICE_RESUME, name);
	int r;

	if (!dmt)
		return no_task(name, err);
	r = run_synced(dmt, 0, "cannot resume", name, err);
	dm_task_destroy(dmt);
	return r;
}

int bj_dm_message(const char *name, const char *msg, char **reply, char *err)
{
	struct dm_task *dmt = task(DM_DEVICE_TARGET_MSG, name);
	const char *resp;
	int r;

	if (reply)
		*reply = NULL;
	if (!dmt)
		return no_task(name, err);
	if (!dm_task_set_sector(dmt, 0) || !dm_task_set_message(dmt, msg)) {
		dm_task_destroy(dmt);
		return -ENOMEM;
	}
	r = run(dmt, "message rejected by", name, err);
	if (!r && reply) {
		resp = dm_task_get_message_response(dmt);
		*reply = strdup(resp ? resp : "");
		if (!*reply)
			r = -ENOMEM;
	}
	if (r == -EINVAL)
		bj_seterr(err, "%s refused \"%s\" (the kernel log says why)", name, msg);
	dm_task_destroy(dmt);
	return r;
}

static int get_single_target(int type, const char *name, bool inactive, struct bj_table *t,
			     char *err)
{
	struct dm_task *dmt = task(type, name);
	uint64_t start, len;
	char *ttype = NULL, *params = NULL;
	struct dm_info info;
	void *next;
	int r;

	memset(t, 0, sizeof(*t));
	if (!dmt)
		return no_task(name, err);
	if (inactive && !dm_task_query_inactive_table(dmt)) {
		dm_task_destroy(dmt);
		return -ENOMEM;
	}
	r = run(dmt, "cannot query", name, err);
	if (r == -ENXIO || r == -ENODEV)
		bj_seterr(err, "no volume named %s; see 'dmsetup ls' or 'blockjob create'", name);
	if (r)
		goto out;
	if (!dm_task_get_info(dmt, &info) || !info.exists) {
		bj_seterr(err, "no volume named %s; see 'dmsetup ls' or 'blockjob create'", name);
		r = -ENODEV;
		goto out;
	}
	if (inactive && !info.inactive_table) {
		bj_seterr(err, "%s has no inactive table", name);
		r = -ENODATA;
		goto out;
	}
	next = dm_get_next_target(dmt, NULL, &start, &len, &ttype, &params);
	if (!ttype) {
		bj_seterr(err, "%s has no %s table", name, inactive ? "inactive" : "active");
		r = -ENODEV;
		goto out;
	}
	if (next) {
		bj_seterr(err, "%s has more than one target: not a blockjob volume", name);
		r = -ENOTTY;
		goto out;
	}
	t->start = start;
	t->len = len;
	snprintf(t->type, sizeof(t->type), "%s", ttype);
	t->params = strdup(params ? params : "");
	if (!t->params)
		r = -ENOMEM;
out:
	dm_task_destroy(dmt);
	return r;
}

int bj_dm_table(const char *name, struct bj_table *t, char *err)
{
	return get_single_target(DM_DEVICE_TABLE, name, false, t, err);
}

int bj_dm_inactive_table(const char *name, struct bj_table *t, char *err)
{
	return get_single_target(DM_DEVICE_TABLE, name, true, t, err);
}

/* The device's dm_info; -ENODEV if there is no such device. */
static int get_info(const char *name, struct dm_info *info, char *err)
{
	struct dm_task *dmt = task(DM_DEVICE_INFO, name);
	int r;

	if (!dmt)
		return no_task(name, err);
	r = run(dmt, "cannot query", name, err);
	if (!r && !(dm_task_get_info(dmt, info) && info->exists)) {
		bj_seterr(err, "no volume named %s; see 'dmsetup ls' or 'blockjob create'", name);
		r = -ENODEV;
	}
	dm_task_destroy(dmt);
	return r;
}

int bj_dm_state(const char *name, bool *suspended, bool *inactive, char *err)
{
	struct dm_info info;
	int r;

	r = get_info(name, &info, err);
	if (!r) {
		*suspended = info.suspended;
		*inactive = info.inactive_table;
	}
	return r;
}

void bj_dm_table_free(struct bj_table *t)
{
	free(t->params);
	t->params = NULL;
}

int bj_parse_status(const char *line, struct bj_status *s)
{
	int n = 0;

	memset(s, 0, sizeof(*s));
	if (sscanf(line, "%15s %15s %15s %" SCNu64 "/%" SCNu64 " %" SCNu64 " %" SCNu64
		   " %" SCNu64 " %63s %u%n",
		   s->mode, s->state, s->result, &s->done, &s->len, &s->dirty, &s->speed,
		   &s->errors, s->last_error, &s->nr_bitmaps, &n) != 10)
		return -EINVAL;
	while (line[n] == ' ')
		n++;
	snprintf(s->extra, sizeof(s->extra), "%s", line + n);
	return 0;
}

int bj_dm_status(const char *name, struct bj_status *s, char *err)
{
	struct bj_table t;
	int r;

	r = get_single_target(DM_DEVICE_STATUS, name, false, &t, err);
	if (r)
		return r;
	if (strcmp(t.type, BJ_TARGET)) {
		bj_seterr(err, "%s is a %s device, not a blockjob volume; make one with 'blockjob create'",
		       name, t.type);
		r = -ENOTTY;
	} else if (bj_parse_status(t.params, s)) {
		bj_seterr(err, "cannot parse the status of %s: \"%s\" (module and CLI versions differ?)",
		       name, t.params);
		r = -EPROTO;
	} else {
		s->sectors = t.len;
	}
	bj_dm_table_free(&t);
	return r;
}

int bj_parse_memory(const char *reply, struct bj_memory *m)
{
	int n = 0;

	memset(m, 0, sizeof(*m));
	if (sscanf(reply, "%" SCNu64 " %" SCNu64 " %" SCNu64 "%n", &m->state, &m->copies,
		   &m->bitmaps, &n) != 3)
		return -EINVAL;
	reply += n;
	while (*reply == ' ' || *reply == '\n')
		reply++;
	return *reply ? -EINVAL : 0;
}

int bj_dm_memory(const char *name, struct bj_memory *m, char *err)
{
	char *reply;
	int r;

	r = bj_dm_message(name, "memory", &reply, err);
	if (r)
		return r;
	if (bj_parse_memory(reply, m)) {
		bj_seterr(err, "cannot parse the memory reply of %s: \"%s\" (module and CLI versions differ?)",
		       name, reply);
		r = -EPROTO;
	}
	free(reply);
	return r;
}

int bj_dm_event_nr(const char *name, uint32_t *event_nr, char *err)
{
	struct dm_task *dmt = task(DM_DEVICE_INFO, name);
	struct dm_info info;
	int r;

	if (!dmt)
		return no_task(name, err);
	r = run(dmt, "cannot query", name, err);
	if (!r && dm_task_get_info(dmt, &info) && info.exists)
		*event_nr = info.event_nr;
	else if (!r)
		r = -ENODEV;
	dm_task_destroy(dmt);
	return r;
}

int bj_dm_devnum(const char *name, unsigned int *major, unsigned int *minor, char *err)
{
	struct dm_info info;
	int r;

	r = get_info(name, &info, err);
	if (!r) {
		*major = info.major;
		*minor = info.minor;
	}
	return r;
}

int bj_dm_info(const char *name, unsigned int major, unsigned int minor, struct bj_dm_info *d)
{
	struct dm_task *dmt = task(DM_DEVICE_INFO, name);
	struct dm_info info;
	const char *s;
	int r = -ENODEV;

	memset(d, 0, sizeof(*d));
	if (!dmt)
		return -ENOMEM;
	if (!name && (!dm_task_set_major(dmt, major) || !dm_task_set_minor(dmt, minor)))
		goto out;
	if (!dm_task_run(dmt) || !dm_task_get_info(dmt, &info) || !info.exists)
		goto out;
	d->exists = true;
	d->major = info.major;
	d->minor = info.minor;
	d->open_count = info.open_count;
	s = dm_task_get_name(dmt);
	snprintf(d->name, sizeof(d->name), "%s", s ? s : "");
	s = dm_task_get_uuid(dmt);
	snprintf(d->uuid, sizeof(d->uuid), "%s", s ? s : "");
	r = 0;
out:
	dm_task_destroy(dmt);
	return r;
}

int bj_dm_create_table(const char *name, const char *uuid, unsigned int flags, size_t n,
		       bj_dm_target_fn target, void *opaque, char *err)
{
	struct dm_task *dmt = task(DM_DEVICE_CREATE, name);
	/* a view shows the volume's file system: udev must not link it */
	uint16_t udev = flags & BJ_DM_PRIVATE ?
			DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG | DM_UDEV_DISABLE_DISK_RULES_FLAG |
			DM_UDEV_DISABLE_OTHER_RULES_FLAG | DM_UDEV_LOW_PRIORITY_FLAG : 0;
	uint64_t start, len;
	const char *type;
	char params[BJ_DM_PARAMS_MAX];
	size_t i;
	int r;

	if (!dmt)
		return no_task(name, err);
	if (uuid && strlen(uuid) > DM_UUID_LEN - 1) {
		bj_seterr(err, "the name %s is too long for a dm UUID", name);
		r = -ENAMETOOLONG;
		goto out;
	}
	if ((uuid && !dm_task_set_uuid(dmt, uuid)) ||
	    (flags & BJ_DM_READ_ONLY && !dm_task_set_ro(dmt)))
		goto nomem;
	for (i = 0; i < n; i++) {
		if (target(opaque, i, &start, &len, &type, params, sizeof(params)) ||
		    !dm_task_add_target(dmt, start, len, type, params))
			goto nomem;
	}
	r = run_synced(dmt, udev, "cannot create", name, err);
	if (n > 1 && (r == -ENOMEM || r == -E2BIG))
		bj_seterr(err, "cannot create %s: the kernel refused a table of %zu targets (%s)",
			  name, n, strerror(-r));
	goto out;
nomem:
	r = -ENOMEM;
	bj_seterr(err, "cannot build the table of %s (%zu targets): out of memory", name, n);
out:
	dm_task_destroy(dmt);
	return r;
}

const char *bj_uuid_str(const uint8_t id[BJ_DM_ID_LEN], char buf[BJ_UUID_STR_LEN])
{
	int i, n = 0;

	for (i = 0; i < BJ_DM_ID_LEN; i++)
		n += snprintf(buf + n, BJ_UUID_STR_LEN - n, "%s%02x",
			      i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", id[i]);
	return buf;
}

int bj_dm_new_uuid(const char *kind, const uint8_t id[BJ_DM_ID_LEN], char *uuid, size_t len,
		   char *err)
{
	char hex[BJ_UUID_STR_LEN];
	uint8_t rnd[BJ_DM_ID_LEN];
	size_t got = 0;
	ssize_t k;

	if (!id) {
		while (got < sizeof(rnd)) {
			k = getrandom(rnd + got, sizeof(rnd) - got, 0);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				bj_seterr(err, "no random dm UUID: getrandom: %s", strerror(errno));
				return -errno;
			}
			got += (size_t)k;
		}
		id = rnd;
	}
	if ((size_t)snprintf(uuid, len, "%s%s-%s", BJ_DM_UUID_PREFIX, kind,
			     bj_uuid_str(id, hex)) >= len) {
		bj_seterr(err, "a %s dm UUID does not fit in %zu bytes", kind, len);
		return -ENAMETOOLONG;
	}
	return 0;
}

int bj_dm_linear_devs(const char *name, dev_t **devs, size_t *n)
{
	struct dm_task *dmt = task(DM_DEVICE_TABLE, name);
	char *type, *params;
	uint64_t start, len;
	void *next = NULL;
	unsigned int ma, mi;
	size_t cap = 0, i;
	int r = 0;

	*devs = NULL;
	*n = 0;
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt)) {
		dm_task_destroy(dmt);
		return -ENODEV;
	}
	do {
		type = params = NULL;
		next = dm_get_next_target(dmt, next, &start, &len, &type, &params);
		if (!type || strcmp(type, "linear") || !params ||
		    sscanf(params, "%u:%u", &ma, &mi) != 2)
			continue;
		for (i = 0; i < *n; i++)
			if ((*devs)[i] == makedev(ma, mi))
				break;
		if (i < *n)
			continue;
		if (*n == cap) {
			dev_t *d;

			cap = cap ? cap * 2 : 8;
			d = realloc(*devs, cap * sizeof(*d));
			if (!d) {
				r = -ENOMEM;
				break;
			}
			*devs = d;
		}
		(*devs)[(*n)++] = makedev(ma, mi);
	} while (next);
	dm_task_destroy(dmt);
	return r;
}

int bj_dm_list(char (**names)[BJ_DM_NAME_MAX + 1], size_t *n, char *err)
{
	struct dm_task *dmt = task(DM_DEVICE_LIST, NULL);
	struct dm_names *nm;
	size_t cap = 0;
	unsigned int next;
	int r;

	*names = NULL;
	*n = 0;
	if (!dmt)
		return no_task(NULL, err);
	r = run(dmt, "cannot list", "device-mapper devices", err);
	if (r) {
		dm_task_destroy(dmt);
		return r;
	}
	nm = dm_task_get_names(dmt);
	if (nm && nm->dev) {
		do {
			next = nm->next;
			if (*n == cap) {
				void *p;

				cap = cap ? 2 * cap : 8;
				p = realloc(*names, cap * sizeof(**names));
				if (!p) {
					bj_seterr(err, "out of memory");
					r = -ENOMEM;
					break;
				}
				*names = p;
			}
			snprintf((*names)[(*n)++], sizeof(**names), "%s", nm->name);
			nm = (struct dm_names *)((char *)nm + next);
		} while (next);
	}
	dm_task_destroy(dmt);
	return r;
}

const char *bj_dm_dir(void)
{
	return dm_dir();
}

int bj_blockdev_info(const char *path, uint64_t *bytes, unsigned int *major,
		     unsigned int *minor, char *err)
{
	struct stat st;
	int fd;

	if (stat(path, &st)) {
		bj_seterr(err, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISBLK(st.st_mode)) {
		bj_seterr(err, "%s is not a block device", path);
		return -ENOTBLK;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		bj_seterr(err, "cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (ioctl(fd, BLKGETSIZE64, bytes)) {
		bj_seterr(err, "cannot read the size of %s: %s", path, strerror(errno));
		close(fd);
		return -errno;
	}
	close(fd);
	*major = major(st.st_rdev);
	*minor = minor(st.st_rdev);
	return 0;
}

/* /dev path of a block device from its sysfs uevent (no udev needed: devtmpfs names it). */
static int devnode_path(unsigned int major, unsigned int minor, char *buf, size_t len)
{
	char path[128], line[256];
	int r = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", major, minor);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "DEVNAME=", 8))
			continue;
		line[strcspn(line, "\n")] = 0;
		if ((size_t)snprintf(buf, len, "/dev/%.200s", line + 8) < len)
			r = 0;
	}
	fclose(f);
	return r;
}

bool bj_blockdev_in_use(unsigned int major, unsigned int minor)
{
	char path[256];
	struct dirent *de;
	bool used = false;
	DIR *d;
	int fd;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/holders", major, minor);
	d = opendir(path);
	if (d) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				used = true;
		closedir(d);
	}
	if (used)
		return true;
	/* An exclusive open elsewhere (a mounted filesystem, another dm table...) fails O_EXCL. */
	if (devnode_path(major, minor, path, sizeof(path)))
		return false;
	fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0)
		return errno == EBUSY;
	close(fd);
	return false;
}
