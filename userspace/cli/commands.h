/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The blockjob CLI's command table. Each command lives in its own
 * cli/cmd-*.c file and exports one entry point and one usage function.
 *
 * Conventions for every command:
 *  - argv[0] is the command name; options are parsed with getopt_long
 *    (optind reset by the caller);
 *  - "--help" prints the usage on stdout and returns 0;
 *  - errors: one line on stderr via bj_err() naming what is wrong and how
 *    to fix it, then return 1; an error in the command line itself (an
 *    unknown option, a missing or extra argument, a malformed value, a bad
 *    volume name) is a usage error: bj_usage_error(), bj_option_error() or
 *    bj_volume_arg(), which return 2. Nothing else exits 2. 124: wait's
 *    --timeout expired (as timeout(1)); 130: interrupted;
 *  - getopt_long's option string starts with ':' (a missing value returns
 *    ':'; opterr is 0: bj_option_error() says what was wrong);
 *  - a volume NAME goes through bj_volume_arg() (NAME or /dev/mapper/NAME);
 *  - "--json" output is one JSON document on stdout.
 */
#ifndef BJ_COMMANDS_H
#define BJ_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct bj_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
	void (*usage)(FILE *f);
};

extern const struct bj_command bj_commands[];

/* Program name used as the prefix of error messages ("blockjob"). */
extern const char *bj_progname;

/* "blockjob: <message>" on stderr. */
void bj_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Usage error helper: prints "<msg>; see 'blockjob CMD --help'" and returns 2. */
int bj_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * getopt_long returned @c ('?' or ':') for the option just read: say which
 * option was unknown or lacks its value; returns 2.
 */
int bj_option_error(const char *cmd, int c, char **argv);

/*
 * For a command without options: refuse any (returns 2), else 0 with optind
 * at the first argument ("--" ends the options, so a NAME may start with '-').
 */
int bj_no_options(const char *cmd, int argc, char **argv);

/*
 * The dm name in the volume argument @arg (NAME or /dev/mapper/NAME, see
 * bj_dm_name()) into *@name: 0, or 2 after one line on stderr.
 */
int bj_volume_arg(const char *cmd, const char *arg, const char **name);

/*
 * A qcow2 TARGET of mirror or backup (cli/qcow2-target.c): attached with
 * bj_qcow2_target_attach(), *@target replaced by its device path; detached
 * again at exit unless bj_cli_qcow2_target_keep() is called once the job
 * runs on it.
 */
int bj_cli_qcow2_target(const char *name, const char **target, uint64_t bytes, bool reuse,
			char *err);
void bj_cli_qcow2_target_keep(void);

/*
 * An NBD URL TARGET of mirror (cli/nbd-target.c): the kernel's NBD client
 * connected to it for volume @name (request and dead-connection timeout
 * @timeout seconds, 0: the library's default), *@target replaced by
 * /dev/nbdN; refused (and disconnected) if the export has fewer than @bytes.
 * Disconnected at exit unless bj_cli_nbd_target_keep() is called once the
 * job runs on it.
 */
int bj_cli_nbd_target(const char *name, const char **target, uint64_t bytes,
		      unsigned int timeout, char *err);
void bj_cli_nbd_target_keep(void);
/*
 * Once the job runs on it (after bj_cli_nbd_target_keep(), the volume's
 * lock released): start the device's keeper (cli/nbd-keeper.c); a note on
 * stderr if it cannot start, never fails the command. A no-op without an
 * NBD target.
 */
void bj_cli_nbd_target_started(const char *name);

/*
 * The NBD keeper (cli/nbd-keeper.c): a detached process that keeps NBD
 * device @dev of volume @name connected (bj_nbd_keep() on watch @w, opened
 * before the connect) until it is disconnected, and resumes the volume's
 * job when the dropped connection stopped it (policy stop). Its pid is in
 * $BLOCKJOB_RUN_DIR/nbd-keeper/nbdN.pid (/run/blockjob/...), its messages
 * go to syslog. Start: 0, or 1 after a note on stderr. The hidden command
 * BJ_NBD_KEEPER_CMD (not in --help) is the process itself.
 */
#define BJ_NBD_KEEPER_CMD "nbd-keeper"
struct bj_nbd_watch;
int bj_cli_nbd_keeper_start(const char *name, const char *dev, struct bj_nbd_watch *w);
int cmd_nbd_keeper(int argc, char **argv);
/*
 * Disconnect the NBD devices blockjob connected for volume @name that no
 * table uses any more (a note on stderr if that fails; never fails the
 * command): after cancel, dismiss, complete, remove, and before a job starts.
 */
void bj_cli_nbd_release(const char *name);

/* Exit status of wait when its --timeout expires (as timeout(1)). */
#define BJ_EXIT_TIMEOUT 124

/* True when argv holds --help or -h before any "--". */
int bj_wants_help(int argc, char **argv);

struct bj_vtable;
/*
 * Before a job starts on volume @name: dismiss a concluded job on it
 * (QEMU's auto-dismiss; a note on stderr says so) and re-read @vt. Returns
 * 0 when @vt is in passthrough, else 1 with one line on stderr.
 */
int bj_auto_dismiss(const char *name, struct bj_vtable *vt);

struct bj_lock;
/*
 * Take volume @name's lock for a command that changes it (a note on stderr
 * if it has to wait for another command) and, if @check_left, refuse a
 * volume an interrupted command left suspended or half-loaded. Returns 0
 * with @lk held, else 1 with one line on stderr.
 */
int bj_cli_lock(const char *name, struct bj_lock *lk, bool check_left);

/*
 * Volumes with a metadata device (cli/cmd-activate.c) --------------------
 */

/* The volumes file: $BLOCKJOB_VOLUMES if set (tests), else BJ_VOLUMES_FILE. */
const char *bj_volumes_path(void);

/*
 * The stable identity of device @path (@major:@minor) into @id (BJ_ID_LEN
 * bytes): 0, or 1 after one line saying that a volume with a metadata
 * device needs one.
 */
int bj_cli_identity(const char *path, unsigned int major, unsigned int minor, char *id);

/* Add "@name @mdev_id" to the volumes file: 0, or 1 after one line. */
int bj_cli_add_volume(const char *name, const char *mdev_id);

/*
 * If metadata device @mdev holds volume @name's metadata with a volume
 * record: 1 with its home (the mirror's destination once it pivoted) in
 * @id (BJ_ID_LEN bytes) and *@off; else 0 (nothing printed).
 */
int bj_cli_recorded_home(const char *name, const char *mdev, char *id, uint64_t *off);

/*
 * Bring volume @name back from metadata device @mdev (a path) on the
 * device its record names (see 'blockjob activate --help'); with
 * @add_line, make sure the volumes file has its line. The caller holds the
 * volume's lock. 0, or 1 after one line on stderr.
 */
int bj_activate(const char *name, const char *mdev, bool add_line);

struct json_object;
/*
 * Print JSON document @o (built with json-c; NULL: out of memory while
 * building it) on one line of stdout and free it: 0, or 1 after one line
 * on stderr. @layout is an enum bj_json_layout (bj-json.h).
 */
int bj_print_json(struct json_object *o, int layout);

struct bj_status;
/*
 * The object 'status --json' prints for volume @name in status @st (its
 * metadata device and memory asked for here): 0 with it in *@o, or 1
 * after one line on stderr.
 */
int bj_cli_status_json(const char *name, const struct bj_status *st, struct json_object **o);

#define BJ_DECLARE_COMMAND(n) \
	int cmd_##n(int argc, char **argv); \
	void usage_##n(FILE *f)

BJ_DECLARE_COMMAND(create);
BJ_DECLARE_COMMAND(activate);
BJ_DECLARE_COMMAND(remove);
BJ_DECLARE_COMMAND(status);
BJ_DECLARE_COMMAND(list);
BJ_DECLARE_COMMAND(qcow2);
BJ_DECLARE_COMMAND(pause);
BJ_DECLARE_COMMAND(resume);
BJ_DECLARE_COMMAND(set_speed);
BJ_DECLARE_COMMAND(cancel);
BJ_DECLARE_COMMAND(dismiss);
BJ_DECLARE_COMMAND(recover);
BJ_DECLARE_COMMAND(wait);
BJ_DECLARE_COMMAND(events);
BJ_DECLARE_COMMAND(mirror);
BJ_DECLARE_COMMAND(complete);
BJ_DECLARE_COMMAND(backup);
BJ_DECLARE_COMMAND(bitmap);
BJ_DECLARE_COMMAND(metadata);
BJ_DECLARE_COMMAND(export);

#endif
