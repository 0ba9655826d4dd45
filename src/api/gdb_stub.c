/* The GDB remote stub (gdb_stub.h): gdb's "Remote Protocol" over one
 * connection, on its own thread. The VM is paused (machine_pause) whenever
 * gdb is not letting it run; registers and memory are read and written only
 * then. Every packet is untrusted: lengths, addresses and numbers are
 * checked, and anything not understood gets an empty or error reply. */
#include "api/gdb_stub.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/gdb_packet.h"
#include "api/gdb_regs.h"
#include "core/guest_mem.h"
#include "core/machine.h"
#include "core/page_walk.h"
#include "cpu/engine.h"
#include "host/sock_addr.h"
#include "popek/log.h"
#include "vmm/vmm.h"

#define SIGTRAP 5
#define SIGINT_ 2

struct gdb_stub {
	struct machine *m;
	const char *at;
	int lfd, fd, wake_fd;
	pthread_t thread;
	bool started, quit;
	bool running; /* gdb let the vCPUs run and waits for a stop */
	bool noack;
	bool phys;             /* "monitor phys on": m/M/X addresses are guest-physical */
	unsigned g_cpu, c_cpu; /* Hg and Hc: vCPU indices */
	/* The first vCPU that stopped for the debugger since the last resume
	 * (written by vCPU threads). */
	pthread_mutex_t lock;
	bool stopped;
	unsigned stop_cpu;
	int stop_kind;
	u64 stop_addr;
	/* A watchpoint that fired on another vCPU after the first stop: it
	 * trapped after the write, so it would not fire again on resume; it
	 * is reported at the next resume instead (bit i: vCPU i, its address
	 * in watch_addr[i]). */
	u64 watch_pending;
	u64 watch_addr[CONFIG_MAX_CPUS];
	struct engine_debug dbg; /* gdb's breakpoints and watchpoints */
	u64 bp_hw;               /* dbg.bp[i] came from Z1 (bit i): a hwbreak stop */
	u8 act[CONFIG_MAX_CPUS]; /* the next resume, per vCPU (enum resume_act) */
	struct gdb_rx rx;
	char reply[2 * GDB_PACKET_MAX + 8], framed[4 * GDB_PACKET_MAX + 16];
	size_t framed_len;
	u8 mem[GDB_PACKET_MAX / 2];
	struct x86_vcpu_state vs;
};

_Static_assert(ENGINE_DEBUG_MAX_BP <= 64, "bp_hw has a bit per breakpoint");

static void stub_send_raw(struct gdb_stub *s, const char *buf, size_t len)
{
	while (len && s->fd >= 0) {
		ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(s->fd); /* gone: the next accept takes the next one */
			s->fd = -1;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void stub_reply(struct gdb_stub *s, const char *data)
{
	s->framed_len = gdb_frame(data, strlen(data), s->framed, sizeof(s->framed));
	stub_send_raw(s, s->framed, s->framed_len);
}

/* A vCPU thread stopped for the debugger (machine.debug_stopped). */
static void stub_vcpu_stopped(void *opaque, unsigned vcpu, int kind, u64 addr)
{
	struct gdb_stub *s = opaque;
	u64 one = 1;

	pthread_mutex_lock(&s->lock);
	if (!s->stopped) {
		s->stopped = true;
		s->stop_cpu = vcpu;
		s->stop_kind = kind;
		s->stop_addr = addr;
	} else if (kind == ENGINE_DEBUG_WATCH && vcpu < 64) {
		s->watch_pending |= 1ULL << vcpu;
		s->watch_addr[vcpu] = addr;
	}
	pthread_mutex_unlock(&s->lock);
	machine_pause_nowait(s->m);
	if (write(s->wake_fd, &one, sizeof(one)) < 0)
		log_debug("gdb: cannot wake the stub: %s", strerror(errno));
}

/* Whether the breakpoint at addr came from Z1 (a hardware breakpoint). */
static bool bp_is_hw(const struct gdb_stub *s, u64 addr)
{
	for (unsigned i = 0; i < s->dbg.nr_bp; i++)
		if (s->dbg.bp[i] == addr)
			return s->bp_hw & (1ULL << i);
	return false;
}

static void stop_reply(struct gdb_stub *s, int sig, unsigned cpu, int kind, u64 addr)
{
	char buf[96];

	if (sig == SIGTRAP && kind == ENGINE_DEBUG_WATCH)
		snprintf(buf, sizeof(buf), "T%02xwatch:%llx;thread:%x;", sig,
			 (unsigned long long)addr, cpu + 1);
	else if (sig == SIGTRAP && kind == ENGINE_DEBUG_BREAK)
		snprintf(buf, sizeof(buf), "T%02x%s:;thread:%x;", sig,
			 bp_is_hw(s, addr) ? "hwbreak" : "swbreak", cpu + 1);
	else
		snprintf(buf, sizeof(buf), "T%02xthread:%x;", sig, cpu + 1);
	s->g_cpu = s->c_cpu = cpu;
	stub_reply(s, buf);
}

/* What a resume does with each vCPU (s->act). */
enum resume_act { ACT_HOLD, ACT_RUN, ACT_STEP };

/* Lets the vCPUs go as s->act says: each runs with gdb's breakpoints,
 * steps (stops after one instruction), or stays stopped (held) while the
 * others run, as gdb's vCont asks for threads it gives no action. */
/* A pending watchpoint stop of a vCPU this resume would let run, whose
 * watchpoint gdb still has: reported now, as if it had just fired (the
 * vCPUs stay paused). Returns true when one was. */
static bool stub_pending_watch(struct gdb_stub *s)
{
	for (unsigned i = 0; i < s->m->nr_vcpus && i < 64; i++) {
		bool still = false, pending;
		u64 addr;

		pthread_mutex_lock(&s->lock);
		pending = s->watch_pending >> i & 1;
		s->watch_pending &= ~(1ULL << i);
		addr = s->watch_addr[i];
		pthread_mutex_unlock(&s->lock);
		if (!pending)
			continue;
		for (unsigned w = 0; w < s->dbg.nr_watch; w++)
			still |= addr >= s->dbg.watch[w].addr &&
				 addr - s->dbg.watch[w].addr < s->dbg.watch[w].len;
		if (still && s->act[i] != ACT_HOLD) {
			stop_reply(s, SIGTRAP, i, ENGINE_DEBUG_WATCH, addr);
			return true;
		}
	}
	return false;
}

static int stub_resume(struct gdb_stub *s)
{
	struct machine *m = s->m;
	bool any = s->dbg.nr_bp || s->dbg.nr_watch;

	if (stub_pending_watch(s))
		return 0;

	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		struct engine_debug d = s->dbg;
		d.step = s->act[i] == ACT_STEP;
		if (!m->engine->set_debug) {
			if (d.step)
				return -EOPNOTSUPP;
			continue;
		}
		if (m->engine->set_debug(m->vcpus[i].ev, any || d.step ? &d : NULL) < 0)
			return -EINVAL;
	}
	for (unsigned i = 0; i < m->nr_vcpus; i++)
		machine_vcpu_hold(m, i, s->act[i] == ACT_HOLD);
	pthread_mutex_lock(&s->lock);
	s->stopped = false;
	pthread_mutex_unlock(&s->lock);
	s->running = true;
	machine_resume(m);
	return 0;
}

/* Every vCPU runs; cpu steps if step (c and s, detach). */
static int stub_resume_all(struct gdb_stub *s, bool step, unsigned cpu)
{
	for (unsigned i = 0; i < s->m->nr_vcpus; i++)
		s->act[i] = step && i == cpu ? ACT_STEP : ACT_RUN;
	return stub_resume(s);
}

static int cpu_state(struct gdb_stub *s, unsigned cpu)
{
	return s->m->engine->save_vcpu(s->m->vcpus[cpu].ev, &s->vs);
}

/* Reads or writes len bytes at virtual address va of the Hg vCPU, a page
 * at a time through its page tables; returns the bytes done (0: none). */
static size_t stub_mem(struct gdb_stub *s, u64 va, u8 *buf, size_t len, bool write)
{
	struct page_walk w;
	size_t done = 0;

	if (s->phys) {
		int err = write ? guest_mem_write(&s->m->mem, va, buf, len)
				: guest_mem_read(&s->m->mem, va, buf, len);
		return err < 0 ? 0 : len; /* all or nothing: outside RAM is no memory */
	}
	if (cpu_state(s, s->g_cpu) < 0)
		return 0;
	while (done < len) {
		u64 lin = va + done, chunk = MIN(len - done, 4096 - (lin & 0xfff));
		page_walk(&s->m->mem, &s->vs.st.sregs, lin, &w);
		if (!w.ok)
			break;
		int err = write ? guest_mem_write(&s->m->mem, w.gpa, buf + done, chunk)
				: guest_mem_read(&s->m->mem, w.gpa, buf + done, chunk);
		if (err < 0)
			break;
		done += chunk;
	}
	return done;
}

/* "ADDR,LEN" (then ':' for writes); false unless both parse and LEN fits. */
static bool parse_addr_len(const char **p, u64 *addr, u64 *len, u64 max)
{
	if (!gdb_parse_hex(p, addr) || **p != ',')
		return false;
	(*p)++;
	return gdb_parse_hex(p, len) && *len <= max;
}

static void cmd_read_mem(struct gdb_stub *s, const char *p)
{
	u64 addr, len;
	size_t n;

	if (!parse_addr_len(&p, &addr, &len, sizeof(s->mem)) || *p) {
		stub_reply(s, "E01");
		return;
	}
	n = stub_mem(s, addr, s->mem, len, false);
	if (!n && len) {
		stub_reply(s, "E14"); /* EFAULT: not mapped */
		return;
	}
	gdb_hex_encode(s->mem, n, s->reply);
	s->reply[2 * n] = 0;
	stub_reply(s, s->reply);
}

/* M (hex) or X (binary) */
static void cmd_write_mem(struct gdb_stub *s, const char *p, size_t plen, bool binary)
{
	const char *start = p;
	u64 addr, len;

	if (!parse_addr_len(&p, &addr, &len, sizeof(s->mem)) || *p != ':') {
		stub_reply(s, "E01");
		return;
	}
	p++;
	size_t left = plen - (size_t)(p - start);
	if (binary ? left != len : (left != 2 * len || !gdb_hex_decode(p, len, s->mem))) {
		stub_reply(s, "E01");
		return;
	}
	if (binary)
		memcpy(s->mem, p, len);
	stub_reply(s, stub_mem(s, addr, s->mem, len, true) == len ? "OK" : "E14");
}

static void cmd_regs(struct gdb_stub *s, const char *p, char op)
{
	u8 regs[GDB_REGS_SIZE];
	u64 n;

	if (cpu_state(s, s->g_cpu) < 0) {
		stub_reply(s, "E01");
		return;
	}
	gdb_regs_encode(&s->vs, regs);
	if (op == 'g') {
		gdb_hex_encode(regs, sizeof(regs), s->reply);
		s->reply[2 * sizeof(regs)] = 0;
		stub_reply(s, s->reply);
		return;
	}
	if (op == 'p') {
		unsigned off, size;
		if (!gdb_parse_hex(&p, &n) || *p ||
		    !gdb_reg_slot((unsigned)MIN(n, 999), &off, &size)) {
			stub_reply(s, "E01");
			return;
		}
		gdb_hex_encode(regs + off, size, s->reply);
		s->reply[2 * size] = 0;
		stub_reply(s, s->reply);
		return;
	}
	if (op == 'G') {
		if (strlen(p) != 2 * sizeof(regs) || !gdb_hex_decode(p, sizeof(regs), regs)) {
			stub_reply(s, "E01");
			return;
		}
	} else { /* P n=value: the general registers, RIP and RFLAGS only */
		unsigned off, size;
		if (!gdb_parse_hex(&p, &n) || n > 17 || *p != '=' ||
		    !gdb_reg_slot((unsigned)MIN(n, 999), &off, &size) ||
		    strlen(p + 1) != 2 * size || !gdb_hex_decode(p + 1, size, regs + off)) {
			stub_reply(s, "E01");
			return;
		}
	}
	gdb_regs_decode(regs, &s->vs.st.regs);
	struct x86_state st;
	if (s->m->engine->get_state(s->m->vcpus[s->g_cpu].ev, &st) < 0) {
		stub_reply(s, "E01");
		return;
	}
	st.regs = s->vs.st.regs;
	stub_reply(s, s->m->engine->set_state(s->m->vcpus[s->g_cpu].ev, &st) < 0 ? "E01" : "OK");
}

/* Z/z TYPE,ADDR,KIND: breakpoints (0 software, 1 hardware: the same
 * here) and watchpoints (2 write, 3 read, 4 access; KIND bytes). */
static void cmd_point(struct gdb_stub *s, const char *p, bool insert)
{
	struct engine_debug *d = &s->dbg;
	u64 type, addr, kind;

	if (!gdb_parse_hex(&p, &type) || *p++ != ',' || !gdb_parse_hex(&p, &addr) || *p++ != ',' ||
	    !gdb_parse_hex(&p, &kind) || (*p && *p != ';') || type > 4) {
		stub_reply(s, "E01");
		return;
	}
	if (!s->m->engine->set_debug) {
		stub_reply(s, ""); /* gdb then says the engine cannot */
		return;
	}
	if (type <= 1) {
		unsigned i = 0;
		while (i < d->nr_bp && d->bp[i] != addr)
			i++;
		if (insert && i == d->nr_bp) {
			if (d->nr_bp == ENGINE_DEBUG_MAX_BP) {
				stub_reply(s, "E28"); /* ENOSPC */
				return;
			}
			d->bp[d->nr_bp++] = addr;
		} else if (!insert && i < d->nr_bp) {
			/* The last one moves to i, its kind with it. */
			unsigned last = --d->nr_bp;
			d->bp[i] = d->bp[last];
			s->bp_hw = (s->bp_hw & ~(1ULL << i)) | (((s->bp_hw >> last) & 1) << i);
			s->bp_hw &= ~(1ULL << last);
		}
		if (insert)
			s->bp_hw = type == 1 ? s->bp_hw | (1ULL << i) : s->bp_hw & ~(1ULL << i);
		stub_reply(s, "OK");
		return;
	}
	if (kind < 1 || kind > 8) {
		stub_reply(s, "E22");
		return;
	}
	bool rd = type != 2, wr = type != 3;
	unsigned i = 0;
	while (i < d->nr_watch && !(d->watch[i].addr == addr && d->watch[i].len == kind &&
				    d->watch[i].read == rd && d->watch[i].write == wr))
		i++;
	if (insert && i == d->nr_watch) {
		if (d->nr_watch == ENGINE_DEBUG_MAX_WATCH) {
			stub_reply(s, "E28");
			return;
		}
		d->watch[d->nr_watch].addr = addr;
		d->watch[d->nr_watch].len = (u32)kind;
		d->watch[d->nr_watch].read = rd;
		d->watch[d->nr_watch].write = wr;
		d->nr_watch++;
	} else if (!insert && i < d->nr_watch) {
		d->watch[i] = d->watch[--d->nr_watch];
	}
	stub_reply(s, "OK");
}

/* A thread id as gdb writes it: -1 all, 0 any, else vCPU + 1. */
static bool parse_thread(struct gdb_stub *s, const char *p, unsigned *cpu)
{
	u64 t;

	if (!strcmp(p, "-1") || !strcmp(p, "0"))
		return true;
	if (!gdb_parse_hex(&p, &t) || *p || !t || t > s->m->nr_vcpus)
		return false;
	*cpu = (unsigned)t - 1;
	return true;
}

/* vCont;ACTION[:TID]...: c or s (C and S: their signal is ignored) for
 * thread TID, or without TID for every thread no earlier action named;
 * a thread no action names stays stopped (gdb's "Remote Protocol", vCont
 * packet: gdb steps one thread over a breakpoint so, and so it locks the
 * scheduler). The first action that applies to a thread is its. */
static void cmd_vcont(struct gdb_stub *s, const char *p)
{
	static char buf[GDB_PACKET_MAX + 1]; /* the stub's thread only */
	const unsigned n = s->m->nr_vcpus;
	bool named[CONFIG_MAX_CPUS] = {false}, any = false;
	char *save = NULL, *tok;

	memset(s->act, ACT_HOLD, sizeof(s->act));
	snprintf(buf, sizeof(buf), "%s", p);
	for (tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		char *colon = strchr(tok, ':');
		char a = tok[0];
		unsigned cpu = n; /* no TID, or -1: all not yet named */
		if (colon && !strcmp(colon + 1, "0"))
			cpu = s->c_cpu; /* any thread: the one gdb last looked at */
		else if (colon && !parse_thread(s, colon + 1, &cpu))
			cpu = CONFIG_MAX_CPUS + 1;
		if ((a != 'c' && a != 'C' && a != 's' && a != 'S') || cpu > n) {
			stub_reply(s, "E01");
			return;
		}
		for (unsigned i = 0; i < n; i++) {
			if (named[i] || (cpu < n && i != cpu))
				continue;
			named[i] = any = true;
			s->act[i] = a == 's' || a == 'S' ? ACT_STEP : ACT_RUN;
		}
	}
	if (!any || stub_resume(s) < 0)
		stub_reply(s, "E01");
}

/* qRcmd,HEX: gdb's "monitor" commands; text answers go as O packets. */
static void cmd_monitor(struct gdb_stub *s, const char *hex)
{
	char cmd[128], text[160];
	size_t n = strlen(hex) / 2;

	if (strlen(hex) % 2 || n >= sizeof(cmd) || !gdb_hex_decode(hex, n, (u8 *)cmd)) {
		stub_reply(s, "E01");
		return;
	}
	cmd[n] = 0;
	if (!strcmp(cmd, "phys on") || !strcmp(cmd, "phys off")) {
		s->phys = !strcmp(cmd, "phys on");
		snprintf(text, sizeof(text), "memory addresses are now %s\n",
			 s->phys ? "guest-physical" : "virtual (the guest's page tables)");
	} else if (!strcmp(cmd, "phys")) {
		snprintf(text, sizeof(text), "memory addresses are %s\n",
			 s->phys ? "guest-physical" : "virtual");
	} else {
		snprintf(text, sizeof(text), "popek monitor commands: phys [on|off]\n");
	}
	s->reply[0] = 'O';
	gdb_hex_encode((const u8 *)text, strlen(text), s->reply + 1);
	s->reply[1 + 2 * strlen(text)] = 0;
	stub_reply(s, s->reply);
	stub_reply(s, "OK");
}

static void cmd_query(struct gdb_stub *s, const char *p)
{
	u64 off, len;

	if (!strncmp(p, "qSupported", 10)) {
		snprintf(s->reply, sizeof(s->reply),
			 "PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;"
			 "vContSupported+;QStartNoAckMode+",
			 GDB_PACKET_MAX);
		stub_reply(s, s->reply);
	} else if (!strncmp(p, "qXfer:features:read:target.xml:", 31)) {
		const char *xml = gdb_target_xml(), *q = p + 31;
		size_t total = strlen(xml);
		if (!gdb_parse_hex(&q, &off) || *q++ != ',' || !gdb_parse_hex(&q, &len) || *q) {
			stub_reply(s, "E01");
			return;
		}
		len = MIN(len, (u64)GDB_PACKET_MAX - 8);
		if (off >= total) {
			stub_reply(s, "l");
			return;
		}
		len = MIN(len, total - off);
		s->reply[0] = off + len < total ? 'm' : 'l';
		memcpy(s->reply + 1, xml + off, len);
		s->reply[1 + len] = 0;
		stub_reply(s, s->reply);
	} else if (!strncmp(p, "qXfer:features:read:", 20)) {
		stub_reply(s, "E00");
	} else if (!strcmp(p, "qfThreadInfo")) {
		size_t n = 0;
		s->reply[n++] = 'm';
		for (unsigned i = 0; i < s->m->nr_vcpus; i++)
			n += (size_t)snprintf(s->reply + n, 16, "%s%x", i ? "," : "", i + 1);
		s->reply[n] = 0;
		stub_reply(s, s->reply);
	} else if (!strcmp(p, "qsThreadInfo")) {
		stub_reply(s, "l");
	} else if (!strcmp(p, "qC")) {
		snprintf(s->reply, 32, "QC%x", s->g_cpu + 1);
		stub_reply(s, s->reply);
	} else if (!strncmp(p, "qRcmd,", 6)) {
		cmd_monitor(s, p + 6);
	} else if (!strcmp(p, "qAttached")) {
		stub_reply(s, "1");
	} else if (!strncmp(p, "qThreadExtraInfo,", 17)) {
		const char *q = p + 17;
		unsigned cpu = 0;
		char text[32];
		if (!parse_thread(s, q, &cpu)) {
			stub_reply(s, "E01");
			return;
		}
		snprintf(text, sizeof(text), "vCPU %u", cpu);
		gdb_hex_encode((const u8 *)text, strlen(text), s->reply);
		s->reply[2 * strlen(text)] = 0;
		stub_reply(s, s->reply);
	} else {
		stub_reply(s, "");
	}
}

/* One packet while the VM is stopped. */
static void stub_packet(struct gdb_stub *s, const char *p, size_t len)
{
	unsigned cpu = 0;

	switch (p[0]) {
	case '?':
		stop_reply(s, SIGTRAP, s->g_cpu, -1, 0);
		break;
	case 'g':
		cmd_regs(s, p + 1, 'g');
		break;
	case 'G':
		cmd_regs(s, p + 1, 'G');
		break;
	case 'p':
		cmd_regs(s, p + 1, 'p');
		break;
	case 'P':
		cmd_regs(s, p + 1, 'P');
		break;
	case 'm':
		cmd_read_mem(s, p + 1);
		break;
	case 'M':
		cmd_write_mem(s, p + 1, len - 1, false);
		break;
	case 'X':
		cmd_write_mem(s, p + 1, len - 1, true);
		break;
	case 'c':
	case 's':
		if (p[1]) { /* "c ADDR": resume elsewhere, not supported */
			stub_reply(s, "E01");
			break;
		}
		if (stub_resume_all(s, p[0] == 's', s->c_cpu) < 0)
			stub_reply(s, "E01");
		break;
	case 'H':
		if ((p[1] != 'g' && p[1] != 'c') || !parse_thread(s, p + 2, &cpu)) {
			stub_reply(s, "E01");
			break;
		}
		if (strcmp(p + 2, "-1") && strcmp(p + 2, "0"))
			*(p[1] == 'g' ? &s->g_cpu : &s->c_cpu) = cpu;
		stub_reply(s, "OK");
		break;
	case 'T':
		stub_reply(s, parse_thread(s, p + 1, &cpu) ? "OK" : "E01");
		break;
	case 'Z':
	case 'z':
		cmd_point(s, p + 1, p[0] == 'Z');
		break;
	case 'q':
		cmd_query(s, p);
		break;
	case 'Q':
		if (!strcmp(p, "QStartNoAckMode")) {
			stub_reply(s, "OK");
			s->noack = true;
		} else {
			stub_reply(s, "");
		}
		break;
	case 'v':
		if (!strcmp(p, "vCont?"))
			stub_reply(s, "vCont;c;C;s;S");
		else if (!strncmp(p, "vCont;", 6))
			cmd_vcont(s, p + 5);
		else if (!strncmp(p, "vKill", 5))
			goto kill;
		else
			stub_reply(s, "");
		break;
	case 'D': /* detach: the VM runs on without breakpoints */
		memset(&s->dbg, 0, sizeof(s->dbg));
		s->bp_hw = 0;
		stub_reply(s, "OK");
		stub_resume_all(s, false, 0);
		s->running = false;
		close(s->fd);
		s->fd = -1;
		break;
	case 'k':
	kill:
		log_warn("gdb: kill: stopping the VM");
		machine_request_stop(s->m, MACHINE_STOP_USER, 137);
		machine_resume(s->m);
		if (p[0] == 'v')
			stub_reply(s, "OK");
		close(s->fd);
		s->fd = -1;
		break;
	default:
		stub_reply(s, "");
	}
}

/* Bytes from gdb: packets (answered when the VM is stopped), acks and
 * Ctrl-C (stops a running VM). */
static void stub_input(struct gdb_stub *s, const u8 *buf, size_t n)
{
	for (size_t i = 0; i < n && s->fd >= 0; i++) {
		switch (gdb_rx_byte(&s->rx, buf[i])) {
		case GDB_RX_PACKET:
			if (!s->noack)
				stub_send_raw(s, "+", 1);
			if (s->running)
				break; /* only Ctrl-C means something now */
			stub_packet(s, s->rx.buf, s->rx.len);
			break;
		case GDB_RX_BAD:
			if (!s->noack)
				stub_send_raw(s, "-", 1);
			break;
		case GDB_RX_NACK:
			stub_send_raw(s, s->framed, s->framed_len);
			break;
		case GDB_RX_INTERRUPT:
			if (s->running && machine_pause(s->m) == 0) {
				s->running = false;
				stop_reply(s, SIGINT_, s->c_cpu, -1, 0);
			}
			break;
		default:
			break;
		}
	}
}

/* While the vCPUs run: a stop for the debugger ends it. */
static void stub_check_stop(struct gdb_stub *s)
{
	u64 v;
	bool stopped;
	unsigned cpu;
	int kind;
	u64 addr;

	if (read(s->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&s->lock);
	stopped = s->stopped;
	cpu = s->stop_cpu;
	kind = s->stop_kind;
	addr = s->stop_addr;
	pthread_mutex_unlock(&s->lock);
	if (!s->running || !stopped || machine_pause(s->m) < 0)
		return;
	s->running = false;
	stop_reply(s, SIGTRAP, cpu, kind, addr);
}

static void stub_connection(struct gdb_stub *s)
{
	u8 buf[4096];

	log_info("gdb: debugger connected on %s; the VM is stopped", s->at);
	gdb_rx_init(&s->rx);
	s->noack = false;
	s->running = false;
	s->g_cpu = s->c_cpu = 0;
	if (machine_pause(s->m) < 0)
		return;
	while (s->fd >= 0 && !s->quit) {
		struct pollfd p[2] = {{s->fd, POLLIN, 0}, {s->wake_fd, POLLIN, 0}};
		if (poll(p, 2, 100) < 0 && errno != EINTR)
			break;
		if (machine_stopping(s->m))
			break;
		if (p[1].revents & POLLIN)
			stub_check_stop(s);
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(s->fd, buf, sizeof(buf), 0);
			if (n <= 0) {
				log_info("gdb: debugger gone; the VM runs on");
				close(s->fd);
				s->fd = -1;
				break;
			}
			stub_input(s, buf, (size_t)n);
		}
	}
	if (s->fd < 0 && !machine_stopping(s->m)) {
		/* Gone or detached: no breakpoints left behind. */
		memset(&s->dbg, 0, sizeof(s->dbg));
		s->bp_hw = 0;
		stub_resume_all(s, false, 0);
		s->running = false;
	}
}

static void *stub_thread(void *arg)
{
	struct gdb_stub *s = arg;

	while (!s->quit && !machine_stopping(s->m)) {
		struct pollfd p = {s->lfd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0 || !(p.revents & POLLIN))
			continue;
		s->fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (s->fd >= 0)
			stub_connection(s);
	}
	return NULL;
}

int gdb_stub_create(struct machine *m, const char *at, bool wait, struct gdb_stub **out)
{
	struct gdb_stub *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->m = m;
	s->at = at;
	s->fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->lfd = sock_listen(at, "--gdb");
	if (s->lfd < 0) {
		err = s->lfd;
		goto fail;
	}
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0) {
		err = -errno;
		goto fail_lfd;
	}
	m->debug_opaque = s;
	m->debug_stopped = stub_vcpu_stopped;
	if (wait && machine_pause(m) < 0) {
		err = -ESHUTDOWN;
		goto fail_wake;
	}
	if (pthread_create(&s->thread, NULL, stub_thread, s) != 0) {
		err = -EAGAIN;
		goto fail_wake;
	}
	s->started = true;
	log_info("gdb: waiting for a debugger on %s%s", at,
		 wait ? " (the VM starts when it continues)" : "");
	*out = s;
	return 0;
fail_wake:
	m->debug_stopped = NULL;
	close(s->wake_fd);
fail_lfd:
	close(s->lfd);
fail:
	pthread_mutex_destroy(&s->lock);
	free(s);
	return err;
}

void gdb_stub_destroy(struct gdb_stub *s)
{
	if (!s)
		return;
	s->quit = true;
	if (s->started)
		pthread_join(s->thread, NULL);
	if (s->fd >= 0) {
		char buf[8];
		snprintf(buf, sizeof(buf), "W%02x", s->m->exit_status & 0xff);
		stub_reply(s, buf);
		close(s->fd);
	}
	s->m->debug_stopped = NULL;
	if (!strncmp(s->at, "unix:", 5))
		unlink(s->at + 5);
	close(s->lfd);
	close(s->wake_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
