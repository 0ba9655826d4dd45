#!/usr/bin/env python3
"""The GDB stub as hostile input (tests/e2e/test_gdb.sh): bad checksums,
packets too long, huge lengths and addresses outside the guest, bad
register numbers and breakpoint kinds get an error reply (or '-') and
nothing else; the stub answers normally afterwards. Also threads (two
vCPUs) and Ctrl-C. Usage: gdb_hostile.py PORT (a popek --gdb-wait --cpus 2)."""
import socket
import sys
import time


def frame(data):
    return b"$" + data + b"#%02x" % (sum(data) % 256)


class Stub:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def raw(self, data):
        self.s.sendall(data)

    def read_until(self, pred):
        while True:
            r = pred(self.buf)
            if r is not None:
                return r
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("the stub closed the connection")
            self.buf += chunk

    def ack(self):
        """The next '+' or '-'."""
        def pred(b):
            for i, c in enumerate(b):
                if c in b"+-":
                    self.buf = b[i + 1:]
                    return chr(c)
            return None
        return self.read_until(pred)

    def packet(self):
        def pred(b):
            start = b.find(b"$")
            end = b.find(b"#", start + 1) if start >= 0 else -1
            if start < 0 or end < 0 or len(b) < end + 3:
                return None
            data = b[start + 1:end]
            if int(b[end + 1:end + 3], 16) != sum(data) % 256:
                raise ValueError("bad checksum from the stub")
            self.buf = b[end + 3:]
            return data.decode("latin-1")
        return self.read_until(pred)

    def ask(self, data):
        self.raw(frame(data))
        a = self.ack()
        if a != "+":
            return "NACK"
        self.raw(b"+")
        return self.packet()


failed = 0


def check(name, got, want):
    global failed
    ok = want(got) if callable(want) else got == want
    print(("PASS" if ok else "FAIL") + f" gdb/hostile_{name}" + ("" if ok else f": got {got!r}"))
    failed += not ok


def main():
    st = Stub(int(sys.argv[1]))
    check("stop_reason", st.ask(b"?"), lambda r: r.startswith("T05"))
    st.raw(b"$g#00")
    check("bad_checksum_nack", st.ack(), "-")
    st.raw(b"$" + b"a" * 20000 + b"#00")
    check("too_long_nack", st.ack(), "-")
    st.raw(b"noise\x7f\xff")
    check("after_noise", st.ask(b"?"), lambda r: r.startswith("T05"))
    check("threads", st.ask(b"qfThreadInfo"), "m1,2")
    check("thread_3_absent", st.ask(b"T3"), "E01")
    check("hg_3_refused", st.ask(b"Hg3"), "E01")
    check("hg_2", st.ask(b"Hg2"), "OK")
    check("read_vcpu2_regs", st.ask(b"g"), lambda r: len(r) == 1200)
    check("hg_1", st.ask(b"Hg1"), "OK")
    check("mem_huge_length", st.ask(b"m100000,ffffffff"), "E01")
    check("mem_length_overflow", st.ask(b"mffffffffffffffff,10"), "E14")
    check("mem_17_digits", st.ask(b"m10000000000000000,4"), "E01")
    check("mem_unmapped", st.ask(b"mffff800000000000,10"), "E14")
    check("mem_no_comma", st.ask(b"m100000"), "E01")
    check("mem_ok", st.ask(b"m100000,4"), lambda r: len(r) == 8)
    check("write_short_hex", st.ask(b"M100000,4:00"), "E01")
    check("write_bad_hex", st.ask(b"M100000,1:zz"), "E01")
    check("write_unmapped", st.ask(b"Mffff800000000000,1:00"), "E14")
    check("reg_huge_number", st.ask(b"p3e7"), "E01")
    check("reg_write_bad", st.ask(b"P0=12"), "E01")
    check("reg_write_cr3_refused", st.ask(b"P3d=" + b"00" * 8), "E01")
    check("reg_rip", st.ask(b"p10"), lambda r: len(r) == 16)
    check("G_short", st.ask(b"G00"), "E01")
    check("watch_bad_kind", st.ask(b"Z2,100000,9"), "E22")
    check("point_bad_type", st.ask(b"Z7,100000,1"), "E01")
    for i in range(4):
        st.ask(b"Z2,%x,8" % (0x100000 + 8 * i))
    check("watch_too_many", st.ask(b"Z2,100100,8"), "E28")
    for i in range(4):
        st.ask(b"z2,%x,8" % (0x100000 + 8 * i))
    # "monitor phys on": guest-physical addresses; outside RAM is an error.
    check("monitor_phys_on", st.ask(b"qRcmd," + b"phys on".hex().encode()),
          lambda r: r.startswith("O") and "guest-physical" in bytes.fromhex(r[1:]).decode())
    st.raw(b"+")
    check("monitor_phys_ok", st.packet(), "OK")
    st.raw(b"+")
    check("phys_read_ram", st.ask(b"m100000,4"), lambda r: len(r) == 8)
    check("phys_read_outside", st.ask(b"m7fffffff0000,10"), "E14")
    st.ask(b"qRcmd," + b"phys off".hex().encode())
    st.raw(b"+")
    st.packet()
    st.raw(b"+")
    check("monitor_bad_hex", st.ask(b"qRcmd,zz"), "E01")
    check("xfer_past_end", st.ask(b"qXfer:features:read:target.xml:ffffff,10"), "l")
    check("xfer_other_annex", st.ask(b"qXfer:features:read:../../etc/passwd:0,10"), "E00")
    check("unknown_empty", st.ask(b"qNoSuchThing"), "")
    check("vcont_bad", st.ask(b"vCont;x"), "E01")
    # A thread that is not there, or none at all, resumes nothing.
    check("vcont_thread_3_absent", st.ask(b"vCont;s:3;c"), "E01")
    check("vcont_thread_junk", st.ask(b"vCont;c:zz"), "E01")
    check("vcont_no_action", st.ask(b"vCont;"), "E01")
    # Ctrl-C stops a running VM with SIGINT; then the stub answers again.
    st.raw(frame(b"c"))
    check("continue_ack", st.ack(), "+")
    time.sleep(0.3)
    st.raw(b"\x03")
    reply = st.packet()
    st.raw(b"+")
    check("ctrl_c_stops", reply, lambda r: r.startswith("T02"))
    check("alive_after", st.ask(b"qC"), lambda r: r.startswith("QC"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
