/* `popek ctl`: a client of popek's API socket, so a person needs no curl. */
#ifndef POPEK_CTL_H
#define POPEK_CTL_H

/* argv[0] is "ctl". Returns the process exit status: 0 on a 2xx answer,
 * 1 on an error (one line on stderr with the API's fault_message). */
int ctl_main(int argc, char **argv);
void ctl_print_help(void);

#endif
