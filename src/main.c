/* popek entry point: parse the command line, build the machine, run it. The
 * process exit status is decided only here. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "api/cli.h"
#include "core/machine.h"
#include "host/term.h"

int main(int argc, char **argv)
{
	struct vm_config cfg;
	enum cli_action action;
	struct term_state term;
	struct machine *m;
	int status;

	if (cli_parse(argc, argv, &cfg, &action) < 0)
		return 1;
	if (action == CLI_HELP) {
		cli_print_help();
		return 0;
	}
	if (action == CLI_VERSION) {
		printf("popek %s\n", POPEK_VERSION);
		return 0;
	}
	/* With --virtio-console, hvc0 owns the input: make it the last console
	 * (the one /dev/console and init's shell use), keeping ttyS0 for early
	 * messages. */
	if (!cfg.cmdline)
		cfg.cmdline = cfg.virtio_console ? "console=ttyS0 console=hvc0 panic=-1"
						 : "console=ttyS0 panic=-1";
	/* A closed stdout must not kill popek with the terminal left raw. */
	signal(SIGPIPE, SIG_IGN);
	if (machine_create(&cfg, &m) < 0)
		return 1;
	memset(&term, 0, sizeof(term));
	term_raw(&term, 0);
	status = machine_run(m);
	term_restore(&term);
	machine_destroy(m);
	return status;
}
