/* --disk, --pmem, --net and --vsock option syntax (comma-separated key=value
 * lists). */
#include "api/cli_devices.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "popek/log.h"

#define CLI_ITEM_MAX 256

/* Splits the next comma-separated item of *s into item; false at the end. */
static bool cli_next_item(const char **s, char *item)
{
	const char *p = *s, *comma;
	size_t n;

	if (!p || !*p)
		return false;
	comma = strchr(p, ',');
	n = comma ? (size_t)(comma - p) : strlen(p);
	if (n >= CLI_ITEM_MAX)
		n = CLI_ITEM_MAX - 1;
	memcpy(item, p, n);
	item[n] = 0;
	*s = comma ? comma + 1 : NULL;
	return true;
}

int cli_parse_disk(const char *arg, struct vm_config *cfg)
{
	struct disk_config *d;
	const char *s = arg;
	char item[CLI_ITEM_MAX];
	size_t len;

	if (cfg->nr_disks == CONFIG_MAX_DISKS) {
		log_error("--disk '%s': at most %d disks", arg, CONFIG_MAX_DISKS);
		return -EINVAL;
	}
	d = &cfg->disks[cfg->nr_disks];
	memset(d, 0, sizeof(*d));
	/* The path is the first item; it is kept as a pointer into argv. */
	const char *comma = strchr(arg, ',');
	if (comma == arg || !*arg) {
		log_error("--disk '%s': no image path", arg);
		return -EINVAL;
	}
	len = comma ? (size_t)(comma - arg) : strlen(arg);
	if (len >= sizeof(d->path)) {
		log_error("--disk '%.64s...': path too long", arg);
		return -EINVAL;
	}
	memcpy(d->path, arg, len);
	d->path[len] = 0;
	s = comma ? comma + 1 : NULL;
	while (cli_next_item(&s, item)) {
		if (!strcmp(item, "ro")) {
			d->readonly = true;
		} else if (!strncmp(item, "id=", 3) && strlen(item + 3) <= CONFIG_DISK_ID_LEN &&
			   item[3]) {
			strcpy(d->id, item + 3);
		} else {
			log_error("--disk '%s': unknown or bad option '%s' (ro, id=NAME of up to %d "
				  "characters)", arg, item, CONFIG_DISK_ID_LEN);
			return -EINVAL;
		}
	}
	cfg->nr_disks++;
	return 0;
}

int cli_parse_pmem(const char *arg, struct vm_config *cfg)
{
	const char *comma = strchr(arg, ','), *s = comma ? comma + 1 : NULL;
	size_t len = comma ? (size_t)(comma - arg) : strlen(arg);
	char item[CLI_ITEM_MAX];
	struct pmem_config *p;

	if (cfg->nr_pmem == CONFIG_MAX_PMEM) {
		log_error("--pmem '%s': at most %d pmem devices", arg, CONFIG_MAX_PMEM);
		return -EINVAL;
	}
	p = &cfg->pmem[cfg->nr_pmem];
	memset(p, 0, sizeof(*p));
	if (!len || len >= sizeof(p->path)) {
		log_error("--pmem '%.64s': no file path, or one too long", arg);
		return -EINVAL;
	}
	memcpy(p->path, arg, len);
	snprintf(p->id, sizeof(p->id), "pmem%u", cfg->nr_pmem);
	while (cli_next_item(&s, item)) {
		if (!strcmp(item, "ro")) {
			p->read_only = true;
		} else if (!strcmp(item, "root")) {
			p->root_device = true;
		} else if (!strncmp(item, "id=", 3) && item[3] && strlen(item + 3) <= CONFIG_ID_LEN) {
			strcpy(p->id, item + 3);
		} else {
			log_error("--pmem '%s': unknown or bad option '%s' (ro, root, id=NAME)", arg,
				  item);
			return -EINVAL;
		}
	}
	for (unsigned i = 0; p->root_device && i < cfg->nr_pmem; i++)
		if (cfg->pmem[i].root_device) {
			log_error("--pmem '%s': pmem '%s' is already the root device", arg,
				  cfg->pmem[i].id);
			return -EINVAL;
		}
	cfg->nr_pmem++;
	return 0;
}

static bool cli_parse_mac(const char *s, u8 mac[6])
{
	unsigned v[6];
	char extra;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &extra) != 6)
		return false;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 0xff)
			return false;
		mac[i] = (u8)v[i];
	}
	return !(mac[0] & 1); /* not multicast */
}

static bool cli_parse_port(const char *s, u16 *port)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < 1 || v > 65535)
		return false;
	*port = (u16)v;
	return true;
}

/* hostfwd=tcp:HOSTADDR:HOSTPORT-:GUESTPORT (HOSTADDR may be empty). */
static bool cli_parse_hostfwd(const char *s, struct hostfwd_config *f)
{
	char buf[CLI_ITEM_MAX], *addr, *hport, *gport, *dash;
	struct in_addr in;

	if (strncmp(s, "tcp:", 4))
		return false;
	snprintf(buf, sizeof(buf), "%s", s + 4);
	dash = strstr(buf, "-:");
	if (!dash)
		return false;
	*dash = 0;
	gport = dash + 2;
	hport = strrchr(buf, ':');
	if (!hport)
		return false;
	*hport++ = 0;
	addr = buf;
	f->host_addr = 0;
	if (*addr) {
		if (inet_pton(AF_INET, addr, &in) != 1)
			return false;
		f->host_addr = ntohl(in.s_addr);
	}
	return cli_parse_port(hport, &f->host_port) && cli_parse_port(gport, &f->guest_port);
}

int cli_parse_net(const char *arg, struct vm_config *cfg)
{
	struct net_config *n;
	const char *s = arg;
	char item[CLI_ITEM_MAX];

	if (cfg->nr_nets == CONFIG_MAX_NETS) {
		log_error("--net '%s': at most %d network interfaces", arg, CONFIG_MAX_NETS);
		return -EINVAL;
	}
	n = &cfg->nets[cfg->nr_nets];
	memset(n, 0, sizeof(*n));
	cli_next_item(&s, item);
	if (!strcmp(item, "user")) {
		n->mode = NET_USER;
	} else if (!strcmp(item, "tap")) {
		n->mode = NET_TAP;
	} else {
		log_error("--net '%s': unknown mode '%s' (user or tap)", arg, item);
		return -EINVAL;
	}
	while (cli_next_item(&s, item)) {
		if (!strncmp(item, "mac=", 4)) {
			if (!cli_parse_mac(item + 4, n->mac)) {
				log_error("--net '%s': bad MAC address '%s'", arg, item + 4);
				return -EINVAL;
			}
			n->has_mac = true;
		} else if (!strncmp(item, "hostfwd=", 8) && n->mode == NET_USER) {
			if (n->nr_hostfwd == CONFIG_MAX_HOSTFWD ||
			    !cli_parse_hostfwd(item + 8, &n->hostfwd[n->nr_hostfwd])) {
				log_error("--net '%s': bad hostfwd '%s' (want "
					  "tcp:[HOSTADDR]:HOSTPORT-:GUESTPORT, at most %d)",
					  arg, item + 8, CONFIG_MAX_HOSTFWD);
				return -EINVAL;
			}
			n->nr_hostfwd++;
		} else if (!strncmp(item, "ifname=", 7) && n->mode == NET_TAP) {
			if (!item[7] || strlen(item + 7) >= sizeof(n->ifname)) {
				log_error("--net '%s': bad interface name '%s'", arg, item + 7);
				return -EINVAL;
			}
			strcpy(n->ifname, item + 7);
		} else {
			log_error("--net '%s': unknown option '%s'", arg, item);
			return -EINVAL;
		}
	}
	if (n->mode == NET_TAP && !n->ifname[0]) {
		log_error("--net '%s': tap needs ifname=NAME", arg);
		return -EINVAL;
	}
	cfg->nr_nets++;
	return 0;
}

int cli_parse_vsock(const char *arg, struct vm_config *cfg)
{
	const char *s = arg;
	char item[CLI_ITEM_MAX];
	char *end;

	memset(&cfg->vsock, 0, sizeof(cfg->vsock));
	while (cli_next_item(&s, item)) {
		if (!strncmp(item, "cid=", 4)) {
			unsigned long v = strtoul(item + 4, &end, 10);
			if (end == item + 4 || *end || v < 3 || v > 0xfffffffeUL) {
				log_error("--vsock '%s': bad cid '%s' (3 to 4294967294)", arg, item + 4);
				return -EINVAL;
			}
			cfg->vsock.guest_cid = (u32)v;
		} else if (!strncmp(item, "path=", 5) && item[5]) {
			/* Room for the "_PORT" suffix of guest-initiated sockets. */
			if (strlen(item + 5) + 12 > sizeof(cfg->vsock.uds_path)) {
				log_error("--vsock '%s': socket path too long", arg);
				return -EINVAL;
			}
			strcpy(cfg->vsock.uds_path, item + 5);
		} else {
			log_error("--vsock '%s': unknown option '%s' (cid=N,path=SOCKET)", arg, item);
			return -EINVAL;
		}
	}
	if (!cfg->vsock.guest_cid || !cfg->vsock.uds_path[0]) {
		log_error("--vsock '%s': needs cid=N and path=SOCKET", arg);
		return -EINVAL;
	}
	cfg->vsock.enabled = true;
	return 0;
}
