/* popek entry point: parse the command line (or a config file, or wait for the
 * API), build the machine, confine the process, run it. The process exit
 * status is decided only here. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "api/api_server.h"
#include "api/api_misc.h"
#include "api/cli.h"
#include "api/cli_firecracker.h"
#include "api/config_file.h"
#include "api/ctl.h"
#include "api/gdb_stub.h"
#include "vmm/vmm.h"
#include "vmm/metrics.h"
#include "vmm/migrate.h"
#include "vmm/snapshot_file.h"
#include "vmm/mmds_store.h"
#include "host/jail.h"
#include "host/seccomp.h"
#include "host/term.h"
#include "popek/log.h"

/* The default command line, and root= for a root drive (Firecracker's rule). */
static int main_finalize(struct vm_config *cfg, struct config_store *st)
{
	char err[160];

	/* With --virtio-console, hvc0 owns the input: make it the last console
	 * (the one /dev/console and init's shell use), keeping ttyS0 for early
	 * messages. cryptomgr.notests skips the crypto self-tests, more than
	 * half of a stock kernel's boot under the soft engine (RSA big-number
	 * arithmetic); --cmdline replaces all of this. */
	if (!cfg->cmdline)
		cfg->cmdline = cfg->virtio_console
				       ? "console=ttyS0 console=hvc0 panic=-1 cryptomgr.notests"
				       : "console=ttyS0 panic=-1 cryptomgr.notests";
	if (config_finalize(cfg, st, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -EINVAL;
	}
	return 0;
}

static int main_open_metrics(const struct vm_config *cfg, int *fd)
{
	*fd = -1;
	if (!cfg->metrics_file)
		return 0;
	*fd = open(cfg->metrics_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (*fd < 0) {
		int err = -errno;
		log_error("--metrics-file '%s': %s", cfg->metrics_file, strerror(-err));
		return err;
	}
	return 0;
}

/* Builds the machine, then puts the I/O filter on every thread there is
 * (main, device threads, the API thread); vCPU threads made later inherit it
 * and add their own. */
static int main_start(struct vm_config *cfg, struct config_store *st, struct machine **m,
		      int *metrics_fd)
{
	int err, conn = -1;

	*m = NULL;
	err = main_finalize(cfg, st);
	if (!err)
		err = main_open_metrics(cfg, metrics_fd);
	if (err < 0)
		return err;
	if (cfg->incoming)
		err = migrate_incoming(cfg, m, &conn);
	else
		err = machine_create(cfg, m);
	if (!err && cfg->seccomp)
		err = seccomp_apply(SECCOMP_ROLE_IO, true);
	/* The source stops its VM once told this one is ready to run. */
	migrate_incoming_done(conn, err, log_last_error());
	if (err < 0) {
		machine_destroy(*m);
		*m = NULL;
		if (*metrics_fd >= 0)
			close(*metrics_fd);
		*metrics_fd = -1;
	}
	return err;
}

/* The last line of the metrics file, once the machine stopped: with the
 * API's counters when there is an API. */
static void main_write_metrics(struct machine *m, struct api_server *s, int metrics_fd)
{
	struct metrics_file_in in = {0};
	int err;

	for (unsigned i = 0; i < m->cfg.nr_nets && i < CONFIG_MAX_NETS; i++)
		in.net_ids[i] = m->cfg.nets[i].id;
	err = s ? api_server_write_metrics(s, metrics_fd) : metrics_write(m, &in, metrics_fd);
	if (err < 0)
		log_warn("--metrics-file: cannot write: %s", strerror(-err));
}

/* Without an API, the periodic metrics line (Firecracker writes one every
 * minute) comes from a timer on the machine's event loop; with one, the
 * API thread writes it (api_routes_tick). */
struct main_metrics_timer {
	struct machine *m;
	int metrics_fd, timer_fd;
};

static void main_metrics_tick(void *opaque, int fd, u32 events)
{
	struct main_metrics_timer *t = opaque;
	u64 expired;

	(void)events;
	if (read(fd, &expired, sizeof(expired)) == sizeof(expired))
		main_write_metrics(t->m, NULL, t->metrics_fd);
}

static void main_metrics_timer_start(struct main_metrics_timer *t)
{
	u64 ms = metrics_period_ms();
	struct itimerspec its = {{(time_t)(ms / 1000), (long)(ms % 1000) * 1000000},
				 {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000}};

	t->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->timer_fd >= 0 && timerfd_settime(t->timer_fd, 0, &its, NULL) == 0 &&
	    event_loop_add(&t->m->loop, t->timer_fd, main_metrics_tick, t) == 0)
		return;
	log_warn("--metrics-file: no periodic line (cannot set a timer): only FlushMetrics "
		 "and the exit write");
	if (t->timer_fd >= 0)
		close(t->timer_fd);
	t->timer_fd = -1;
}

static int main_serve(struct machine *m, struct api_server *s, int metrics_fd)
{
	struct main_metrics_timer timer = {m, metrics_fd, -1};
	struct gdb_stub *gdb = NULL;
	struct term_state term;
	int status;

	if (m->cfg.gdb && gdb_stub_create(m, m->cfg.gdb, m->cfg.gdb_wait, &gdb) < 0) {
		api_server_destroy(s);
		if (metrics_fd >= 0)
			close(metrics_fd);
		machine_destroy(m);
		return 1;
	}
	if (!s && metrics_fd >= 0)
		main_metrics_timer_start(&timer);
	memset(&term, 0, sizeof(term));
	term_raw(&term, 0);
	status = machine_run(m);
	term_restore(&term);
	gdb_stub_destroy(gdb);
	if (timer.timer_fd >= 0) {
		event_loop_remove(&m->loop, timer.timer_fd);
		close(timer.timer_fd);
	}
	if (metrics_fd >= 0) {
		main_write_metrics(m, s, metrics_fd);
		close(metrics_fd);
	}
	api_server_destroy(s);
	machine_destroy(m);
	return status;
}

/* popek run --api-sock: configure and start through the API (or at once
 * when the command line names a kernel). */
static int main_api(struct vm_config *cfg, struct config_store *st)
{
	bool autostart = cfg->kernel_path || cfg->restore_path || cfg->incoming;
	struct api_server *s;
	struct machine *m = NULL;
	int metrics_fd = -1, status = 1, err;
	sigset_t sigs;

	/* Blocked in every thread from here; the API thread, then the
	 * machine's loop, take them through a signalfd. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (api_server_create(cfg->api_sock, cfg, st, autostart, &s) < 0)
		return 1;
	for (;;) {
		if (!autostart && api_server_wait_start(s, &status) < 0)
			break;
		log_clear_last_error();
		err = main_start(cfg, st, &m, &metrics_fd);
		if (api_server_started(s, m, err, log_last_error(), metrics_fd, &status) < 0)
			break;
		if (m)
			return main_serve(m, s, metrics_fd);
		if (autostart) {
			status = 1;
			break;
		}
		/* A failed InstanceStart: the API stays up for another try. */
	}
	api_server_destroy(s);
	if (metrics_fd >= 0)
		close(metrics_fd);
	machine_destroy(m);
	return status;
}

/* --jail: chroot and drop to --uid/--gid before anything is opened (and so
 * long before the guest runs), then parse again: --config-file is a path
 * inside the jail. /dev/kvm is kept open unless the engine is soft. */
static int main_jail(int argc, char **argv, struct vm_config *cfg, struct config_store *st)
{
	enum cli_action action;

	if (jail_enter(cfg->jail_dir, cfg->jail_uid, cfg->jail_gid, cfg->engine != ENGINE_SOFT) < 0)
		return -EPERM;
	return cli_parse(argc, argv, true, cfg, st, &action);
}

/* --log-level/--log-path or the config file's logger, before anything logs
 * from another thread. */
static int main_logging(const struct vm_config *cfg)
{
	int err;

	if (cfg->log_level >= 0)
		log_set_level((enum log_level)cfg->log_level);
	if (!cfg->log_path)
		return 0;
	err = log_set_path(cfg->log_path);
	if (err < 0)
		log_error("--log-path '%s': %s", cfg->log_path, strerror(-err));
	return err;
}

/* popek snapshot rebase BASE DIFF: offline work on snapshot files. */
static int main_snapshot(int argc, char **argv)
{
	static const char usage[] =
	    "usage: popek snapshot rebase BASE_MEM DIFF_MEM\n"
	    "  applies a Diff snapshot's memory file onto the memory file of the\n"
	    "  snapshot before it (a Full one, or one already rebased): BASE_MEM then\n"
	    "  goes with the Diff's state file (--restore STATE --mem-file BASE_MEM).\n"
	    "  Apply a chain of Diffs in the order they were taken.\n";

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc != 4 || strcmp(argv[1], "rebase")) {
		fputs(usage, stderr);
		return 1;
	}
	return snapshot_rebase(argv[2], argv[3]) < 0 ? 1 : 0;
}

/* popek started as `firecracker`: Firecracker's flags (src/api/cli_firecracker.h).
 * Returns -1 to run the VM, or the exit status. */
static int main_firecracker(int argc, char **argv, struct vm_config *cfg, struct config_store *st)
{
	enum cli_action action;
	const char *snapshot;

	if (cli_firecracker_parse(argc, argv, cfg, st, &action, &snapshot) < 0)
		return 1;
	switch (action) {
	case CLI_HELP:
		cli_firecracker_help();
		return 0;
	case CLI_VERSION:
		if (snapshot) /* --snapshot-version */
			printf("v%d\n", SNAP_FILE_VERSION);
		else
			printf("Firecracker v%s\n\n", POPEK_FC_API_VERSION);
		return 0;
	case CLI_DESCRIBE_SNAPSHOT:
		return cli_firecracker_describe_snapshot(snapshot);
	case CLI_RUN:
		break;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct vm_config cfg;
	struct config_store st;
	enum cli_action action;
	struct machine *m;
	int metrics_fd = -1, r, status;

	if (cli_is_firecracker(argv[0])) {
		r = main_firecracker(argc, argv, &cfg, &st);
		if (r >= 0)
			return r;
		goto run;
	}
	if (argc > 1 && !strcmp(argv[1], "ctl"))
		return ctl_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "snapshot"))
		return main_snapshot(argc - 1, argv + 1);
	if (cli_parse(argc, argv, false, &cfg, &st, &action) < 0)
		return 1;
	if (action == CLI_HELP) {
		cli_print_help();
		return 0;
	}
	if (action == CLI_VERSION) {
		printf("popek %s\n", POPEK_VERSION);
		return 0;
	}
run:
	/* A closed stdout must not kill popek with the terminal left raw. */
	signal(SIGPIPE, SIG_IGN);
	/* glibc reads /etc/localtime on its first time conversion (the RTC's
	 * gmtime_r on a vCPU thread): now, before the jail and the seccomp
	 * filters. */
	tzset();
	if (cfg.jail_dir && main_jail(argc, argv, &cfg, &st) < 0)
		return 1;
	if (main_logging(&cfg) < 0)
		return 1;
	/* The MMDS document lives as long as the process: the API writes it
	 * before and after the start, the guest reads it. */
	if (mmds_store_create(cfg.mmds.size_limit, &cfg.mmds.store) < 0) {
		log_error("cannot create the MMDS data store: out of memory");
		return 1;
	}
	if (cfg.api_sock)
		status = main_api(&cfg, &st);
	else if (main_start(&cfg, &st, &m, &metrics_fd) < 0)
		status = 1;
	else
		status = main_serve(m, NULL, metrics_fd);
	mmds_store_destroy(cfg.mmds.store);
	return status;
}
