#!/usr/bin/env python3
"""Checks popek's API against Firecracker's, as tests/e2e/fc_schema.json
states it (paths, methods, bodies, fields, types, required fields, status
codes). Driven by tests/e2e/test_fc_api.sh; prints PASS/FAIL/SKIP lines.

  test_fc_api.py walk SCHEMA SOCK pre|post TMP KERNEL DISK
      every path and method of the schema: one request each (a valid body),
      its status among the operation's, its body checked strictly against
      the response definition; pre: a popek that has not started (the
      requests configure it), post: one that runs.
  test_fc_api.py front SOCK TMP     Firecracker's request rules (unknown
      paths and methods, bodies on GET, empty PUT/PATCH, body size limit,
      Deprecation header, duplicate MAC or tap), on a popek not started.
  test_fc_api.py limit SOCK N       a body of N + 10 bytes against a popek
      started with --http-api-max-payload-size N: Firecracker's answer.
"""
import json
import socket
import sys

PREFIX = "fc_api"
failures = 0


def say(kind, name, why=""):
    global failures
    if kind == "FAIL":
        failures += 1
    print(f"{kind} {PREFIX}/{name}" + (f": {why}" if why else ""), flush=True)


def request(sock_path, method, path, body=None, raw_body=None, headers=None):
    """One request on a new connection: (status, {header: value}, body bytes)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(sock_path)
    data = raw_body if raw_body is not None else (
        json.dumps(body).encode() if body is not None else b"")
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    if data or method in ("PUT", "PATCH"):
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    s.sendall(head.encode() + b"\r\n" + data)
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        out += chunk
    s.close()
    head_b, _, resp_body = out.partition(b"\r\n\r\n")
    lines = head_b.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/1.1 "):
        return 0, {}, out
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, resp_body


class Checker:
    def __init__(self, schema):
        self.defs = schema["definitions"]

    def value(self, where, spec, v, errs):
        """v against a property's spec; null stands for an absent field."""
        if v is None:
            return
        if "$ref" in spec:
            self.object(where, spec["$ref"], v, errs)
            return
        t = spec.get("type")
        ok = {"string": isinstance(v, str),
              "integer": isinstance(v, int) and not isinstance(v, bool),
              "boolean": isinstance(v, bool),
              "array": isinstance(v, list),
              "object": isinstance(v, dict)}.get(t, True)
        if not ok:
            errs.append(f"{where}: {json.dumps(v)[:40]} is not {t}")
            return
        if "enum" in spec:
            enum = spec["enum"]
            if spec.get("case_insensitive"):
                ok = v.lower() in [e.lower() for e in enum]
            else:
                ok = v in enum
            if not ok:
                errs.append(f"{where}: {v!r} is not one of {enum}")
        if t == "integer":
            if "minimum" in spec and v < spec["minimum"]:
                errs.append(f"{where}: {v} < {spec['minimum']}")
            if "maximum" in spec and v > spec["maximum"]:
                errs.append(f"{where}: {v} > {spec['maximum']}")
        if t == "array" and "items" in spec:
            for i, item in enumerate(v):
                self.value(f"{where}[{i}]", spec["items"], item, errs)

    def object(self, where, name, v, errs):
        d = self.defs[name]
        if not isinstance(v, dict):
            errs.append(f"{where}: not an object ({name})")
            return
        props = d.get("properties", {})
        for k in d.get("required", []):
            if v.get(k) is None:
                errs.append(f"{where}.{k}: required by {name}, missing")
        if d.get("additionalProperties"):
            return
        for k, item in v.items():
            if k not in props:
                errs.append(f"{where}.{k}: not a field of {name}")
            else:
                self.value(f"{where}.{k}", props[k], item, errs)

    def errors(self, name, text):
        """Problems of a response body against definition name (None: empty)."""
        if name is None:
            return [] if not text else [f"a body where none is allowed: {text[:80]!r}"]
        try:
            v = json.loads(text)
        except ValueError as e:
            return [f"not JSON ({e}): {text[:80]!r}"]
        errs = []
        self.object(name, name, v, errs)
        return errs


def fill(x, env):
    if isinstance(x, str):
        return x.format(**env)
    if isinstance(x, dict):
        return {k: fill(v, env) for k, v in x.items()}
    if isinstance(x, list):
        return [fill(v, env) for v in x]
    return x


# The request each operation gets, and the status expected where Firecracker
# and popek agree on it per phase (None: any status the schema lists).
REQUESTS = {
    ("/", "get"): (None, {"pre": 200, "post": 200}),
    ("/actions", "put"): ({"action_type": "FlushMetrics"}, {"post": 204}),
    ("/balloon", "put"): ({"amount_mib": 0, "deflate_on_oom": False, "free_page_hinting": True},
                          {"pre": 204, "post": 400}),
    ("/balloon", "get"): (None, {"pre": 200}),
    ("/balloon", "patch"): ({"amount_mib": 0}, {}),
    ("/balloon/statistics", "get"): (None, {}),
    ("/balloon/statistics", "patch"): ({"stats_polling_interval_s": 1}, {}),
    ("/balloon/hinting/start", "patch"): ({"acknowledge_on_stop": True}, {}),
    ("/balloon/hinting/status", "get"): (None, {"post": 200}),
    ("/balloon/hinting/stop", "patch"): (None, {}),
    ("/boot-source", "put"): ({"kernel_image_path": "{kernel}", "boot_args": "quiet"},
                              {"pre": 204, "post": 400}),
    ("/cpu-config", "put"): ({"cpuid_modifiers": [], "msr_modifiers": []}, {"pre": 204, "post": 400}),
    ("/drives/{drive_id}", "put"): ({"drive_id": "scratch", "path_on_host": "{disk}",
                                     "is_root_device": False, "is_read_only": False,
                                     "cache_type": "Writeback", "io_engine": "Sync"},
                                    {"pre": 204, "post": 400}),
    ("/drives/{drive_id}", "patch"): ({"drive_id": "scratch", "path_on_host": "{disk}"}, {}),
    ("/pmem/{id}", "put"): ({"id": "pmem0", "path_on_host": "{disk}"}, {"pre": 204, "post": 400}),
    ("/pmem/{id}", "patch"): ({"id": "pmem0"}, {"pre": 400, "post": 204}),
    ("/logger", "put"): ({"level": "Warning", "show_level": False}, {"pre": 204, "post": 400}),
    ("/machine-config", "get"): (None, {"pre": 200, "post": 200}),
    ("/machine-config", "put"): ({"vcpu_count": 1, "mem_size_mib": 64, "smt": False,
                                  "track_dirty_pages": False, "huge_pages": "None"},
                                 {"pre": 204, "post": 400}),
    ("/machine-config", "patch"): ({"vcpu_count": 1}, {"pre": 204, "post": 400}),
    ("/metrics", "put"): ({"metrics_path": "{tmp}/walk-metrics.json"}, {"pre": 204, "post": 400}),
    ("/mmds", "put"): ({"latest": {"meta-data": {"instance-id": "i-1"}}}, {}),
    ("/mmds", "patch"): ({"latest": {"meta-data": {"ami-id": "ami-1"}}}, {}),
    ("/mmds", "get"): (None, {}),
    ("/mmds/config", "put"): ({"network_interfaces": ["eth0"]}, {}),
    ("/entropy", "put"): ({}, {"pre": 204, "post": 400}),
    ("/serial", "put"): ({"serial_out_path": "{tmp}/walk-serial.out"}, {"pre": 204, "post": 400}),
    ("/hotplug/memory", "put"): ({"total_size_mib": 1024}, {"pre": 204, "post": 400}),
    ("/hotplug/memory", "patch"): ({"requested_size_mib": 0}, {"pre": 400, "post": 204}),
    ("/hotplug/memory", "get"): (None, {"pre": 200, "post": 200}),
    ("/network-interfaces/{iface_id}", "put"): ({"iface_id": "eth0", "host_dev_name": "fcwalk0",
                                                "guest_mac": "06:00:00:00:00:01", "mtu": 1500},
                                               {"pre": 204, "post": 400}),
    ("/network-interfaces/{iface_id}", "patch"): ({"iface_id": "eth0"}, {}),
    ("/snapshot/create", "put"): ({"snapshot_path": "{tmp}/walk.snap",
                                   "mem_file_path": "{tmp}/walk.mem"}, {"pre": 400, "post": 400}),
    ("/snapshot/load", "put"): ({"snapshot_path": "{tmp}/walk.snap",
                                 "mem_backend": {"backend_type": "File",
                                                 "backend_path": "{tmp}/walk.mem"}},
                                {"pre": 400, "post": 400}),
    ("/version", "get"): (None, {"pre": 200, "post": 200}),
    ("/vm", "patch"): ({"state": "Resumed"}, {"pre": 400, "post": 204}),
    ("/vm/config", "get"): (None, {"pre": 200, "post": 200}),
    ("/vsock", "put"): ({"guest_cid": 3, "uds_path": "{tmp}/walk-v.sock"}, {"pre": 204, "post": 400}),
}
PATH_IDS = {"{drive_id}": "scratch", "{id}": "pmem0", "{iface_id}": "eth0"}
UNROUTED = "Invalid request method and/or path"


def walk(schema, sock, phase, env):
    chk = Checker(schema)
    ops = [(p, m, op) for p, ms in schema["paths"].items() for m, op in ms.items()]
    # Writes first, so that the reads see a configured VM; snapshot/load
    # (refused once anything is configured) last.
    ops.sort(key=lambda o: (o[1] == "get", o[0] == "/snapshot/load"))
    counted = 0
    for path, method, op in ops:
        name = f"{phase}/{method.upper()}{path}"
        if (path, method) not in REQUESTS:
            say("FAIL", name, "the test has no request for it")
            continue
        body, expect = REQUESTS[(path, method)]
        if op["popek"] == "missing":
            say("SKIP", f"{name}", f"{path}: not implemented (issue 13)")
            continue
        url = path
        for k, v in PATH_IDS.items():
            url = url.replace(k, v)
        status, hdrs, text = request(sock, method.upper(), url, fill(body, env))
        counted += 1
        text = text.decode("utf-8", "replace")
        if op["popek"] == "in-progress" and status == 400 and UNROUTED in text:
            say("SKIP", name, f"{path}: not implemented yet (issue 13, in progress)")
            continue
        codes = op["responses"]
        key = str(status) if str(status) in codes else "default"
        if key not in codes:
            say("FAIL", name, f"status {status} is not among {sorted(codes)}: {text[:120]}")
            continue
        if status >= 300 and UNROUTED in text:
            say("FAIL", name, f"not routed: {text[:120]}")
            continue
        want = expect.get(phase)
        if want is not None and status != want:
            say("FAIL", name, f"status {status}, wanted {want} in phase {phase}: {text[:160]}")
            continue
        errs = chk.errors(codes[key], text)
        if errs:
            say("FAIL", name, "; ".join(errs[:4]))
        else:
            say("PASS", name)
    return counted


def check(name, got, want):
    if got == want:
        say("PASS", name)
    else:
        say("FAIL", name, f"got {got!r}, wanted {want!r}")


def fault(text):
    try:
        return json.loads(text).get("fault_message")
    except ValueError:
        return text


def front(sock, tmp):
    """Firecracker's request rules, on a popek that has not started."""
    s, _, t = request(sock, "GET", "/nonexistent")
    check("unknown_path", (s, fault(t)), (400, "Invalid request method and/or path: GET nonexistent."))
    s, _, t = request(sock, "PATCH", "/boot-source", {"kernel_image_path": "x"})
    check("wrong_method", (s, fault(t)), (400, "Invalid request method and/or path: PATCH boot-source."))
    s, _, t = request(sock, "DELETE", "/machine-config")
    check("delete", (s, fault(t)), (400, "Invalid request method and/or path: DELETE machine-config."))
    s, _, t = request(sock, "GET", "/machine-config", raw_body=b"{}")
    check("get_with_body", (s, fault(t)), (400, "GET request cannot have a body."))
    s, _, t = request(sock, "PUT", "/machine-config")
    check("empty_put", (s, fault(t)), (400, "Empty PUT request."))
    s, _, t = request(sock, "PATCH", "/machine-config")
    check("empty_patch", (s, fault(t)), (400, "Empty PATCH request."))
    s, _, t = request(sock, "POST", "/actions", {"action_type": "InstanceStart"})
    check("post", (s, t), (400, b'{ "error": "Invalid HTTP Method: Unsupported HTTP method.\n'
                              b'All previous unanswered requests will be dropped." }'))
    # 51200 bytes (Firecracker's default limit) pass, one more is refused.
    body = b'{"level": "Warning"' + b" " * (51200 - 21) + b"}\n"
    s, _, t = request(sock, "PUT", "/logger", raw_body=body)
    check("body_at_limit", (len(body), s), (51200, 204))
    s, _, t = request(sock, "PUT", "/logger", raw_body=body + b" ")
    check("body_over_limit", (s, t), (400, b'{ "error": "Request payload with size 51201 is larger '
                                          b'than the limit of 51200 allowed by server.\nAll previous'
                                          b' unanswered requests will be dropped." }'))
    v = {"guest_cid": 3, "uds_path": f"{tmp}/front-v.sock"}
    s, h, t = request(sock, "PUT", "/vsock", dict(v, vsock_id="vsock0"))
    check("deprecated_vsock_id", (s, h.get("deprecation")), (204, "true"))
    s, h, t = request(sock, "PUT", "/vsock", v)
    check("not_deprecated", (s, h.get("deprecation")), (204, None))
    s, h, t = request(sock, "PATCH", "/machine-config", {"cpu_template": "None"})
    check("deprecated_cpu_template", (s, h.get("deprecation")), (204, "true"))
    # Firecracker marks the answer even when the request then fails.
    s, h, t = request(sock, "PUT", "/snapshot/load",
                      {"snapshot_path": f"{tmp}/none.snap", "mem_file_path": f"{tmp}/none.mem"})
    check("deprecated_mem_file_path", (s, h.get("deprecation")), (400, "true"))
    s, _, t = request(sock, "GET", "/version")
    check("version", (s, json.loads(t)), (200, {"firecracker_version": "1.17.0-dev"}))
    n = {"iface_id": "a", "host_dev_name": "fcfront0", "guest_mac": "06:00:00:00:00:0a"}
    s, _, t = request(sock, "PUT", "/network-interfaces/a", n)
    check("net_a", s, 204)
    s, _, t = request(sock, "PUT", "/network-interfaces/b",
                      dict(n, iface_id="b", host_dev_name="fcfront1"))
    check("duplicate_mac", (s, fault(t)),
          (400, "Network config error: The MAC address is already in use: 06:00:00:00:00:0a"))
    s, _, t = request(sock, "PUT", "/network-interfaces/b",
                      dict(n, iface_id="b", guest_mac="06:00:00:00:00:0b"))
    check("duplicate_tap", (s, fault(t)),
          (400, "Network config error: Could not create the network device: Open tap device "
                "failed: Error while creating ifreq structure: Device or resource busy (os "
                "error 16). Invalid TUN/TAP Backend provided by fcfront0. Check our "
                "documentation on setting up the network devices."))
    # The same interface again (a replacement) is no conflict with itself.
    s, _, t = request(sock, "PUT", "/network-interfaces/a", n)
    check("net_a_again", s, 204)
    s, _, t = request(sock, "GET", "/vm/config")
    nets = json.loads(t).get("network-interfaces", [])
    check("one_net", [x["iface_id"] for x in nets], ["a"])
    # PUT /cpu-config: CPUID and MSR modifiers kept (and shown), the rest refused.
    leaf = {"leaf": "0x1", "subleaf": "0x0", "flags": 0,
            "modifiers": [{"register": "ecx", "bitmap": "0bxxxxxxxx0xxxxxxxxxxxxxxxxxxxxxxx"}]}
    # IA32_ARCH_CAPABILITIES as Firecracker's T2S template writes it (every
    # bit given: RSBA, SKIP_L1DFL_VMENTRY, PSCHANGE_MC_NO, MISC_PACKAGE_CTRLS,
    # ENERGY_FILTERING_CTL, RRSBA), MISC_ENABLE's fast strings off, PAT's
    # last entry WC; shown back as given ('_' dropped, "0x" and lower case).
    msrs = [{"addr": "0x10a", "bitmap": "0b" + "0" * 44 + "1000" + "0000110001001100"},
            {"addr": "0x1a0", "bitmap": "0b" + "x" * 63 + "0"},
            {"addr": "0x277", "bitmap": "0b00000001" + "x" * 56}]
    s, _, t = request(sock, "PUT", "/cpu-config", {"cpuid_modifiers": [leaf], "msr_modifiers":
                                                   [dict(msrs[0], addr="266")] + msrs[1:]})
    check("cpu_config", s, 204)
    s, _, t = request(sock, "GET", "/vm/config")
    shown = json.loads(t).get("cpu-config") or {}
    check("cpu_config_shown", shown.get("cpuid_modifiers"), [leaf])
    check("cpu_config_msr_shown", shown.get("msr_modifiers"), msrs)
    bad = dict(leaf, modifiers=[{"register": "ecx", "bitmap": "0b101"}])
    s, _, t = request(sock, "PUT", "/cpu-config", {"cpuid_modifiers": [bad]})
    check("cpu_config_bad_bitmap", (s, fault(t)),
          (400, "cpuid_modifiers[0].modifiers[0]: bitmap: 3 bits, not 32"))
    # MSR modifiers popek's engines cannot honour: refused, the field named.
    x56 = "x" * 56
    for name, mods, want in [
        ("cpu_config_msr_unknown", [{"addr": "0xc0000080", "bitmap": "0b" + x56 + "xxxxxxx1"}],
         "msr_modifiers[0]: addr: MSR 0xc0000080 cannot be changed by a CPU template in popek "
         "(only 0x10a IA32_ARCH_CAPABILITIES, 0x1a0 IA32_MISC_ENABLE and 0x277 IA32_PAT)"),
        ("cpu_config_msr_reserved", msrs[1:] + [{"addr": "0x10a", "bitmap": "0b1" + "x" * 63}],
         "msr_modifiers[2]: bitmap: IA32_ARCH_CAPABILITIES bits 0x8000000000000000 cannot be "
         "set to 1 in popek"),
        ("cpu_config_msr_readonly", [{"addr": "0x1a0", "bitmap": "0b" + x56[:-8] + "xxx0" + "x" * 12}],
         "msr_modifiers[0]: bitmap: IA32_MISC_ENABLE bits 0x1000 cannot be cleared in popek"),
        ("cpu_config_msr_pat", [{"addr": "0x277", "bitmap": "0b" + x56 + "00000011"}],
         "msr_modifiers[0]: bitmap: IA32_PAT would be 0x7040600070403: a byte is not a memory "
         "type"),
        ("cpu_config_msr_addr", [{"addr": "0x1" + "0" * 8, "bitmap": "0b" + "x" * 64}],
         "msr_modifiers[0]: addr: must be a string holding a number (\"0x..\", \"0b..\" or "
         "decimal) up to 0xffffffff"),
        ("cpu_config_msr_bitmap", [{"addr": "0x277", "bitmap": "0b" + "x" * 65}],
         "msr_modifiers[0]: bitmap: must be \"0b\" and 64 characters 0, 1 or x"),
        ("cpu_config_msr_many", msrs[2:] * 33, "msr_modifiers: at most 32 MSR modifiers")]:
        s, _, t = request(sock, "PUT", "/cpu-config", {"msr_modifiers": mods})
        check(name, (s, fault(t)), (400, want))
    # A refused template leaves the one before.
    s, _, t = request(sock, "GET", "/vm/config")
    check("cpu_config_kept", (json.loads(t).get("cpu-config") or {}).get("msr_modifiers"), msrs)
    s, _, t = request(sock, "GET", "/popek/machine-config")
    check("popek_machine_config", (s, sorted(json.loads(t))),
          (200, ["cpu_vendor", "engine", "pv", "soft_jit", "soft_jit_cache_mib"]))


def limit(sock, n):
    body = b"x" * (n + 10)
    s, _, t = request(sock, "PUT", "/mmds/config", raw_body=body)
    check("limit", (s, t), (400, b'{ "error": "Request payload with size %d is larger than the '
                               b'limit of %d allowed by server.\nAll previous unanswered '
                               b'requests will be dropped." }' % (n + 10, n)))
    s, _, t = request(sock, "PUT", "/logger", raw_body=b'{"level": "Warning"}'.ljust(n))
    check("limit_ok", s, 204)


def main():
    try:
        run(sys.argv[1])
    except Exception as e:  # a crash of the checker is a failure, not silence
        say("FAIL", sys.argv[1], f"the checker stopped: {type(e).__name__}: {e}")
    return 1 if failures else 0


def run(cmd):
    if cmd == "walk":
        schema = json.load(open(sys.argv[2]))
        env = {"tmp": sys.argv[5], "kernel": sys.argv[6], "disk": sys.argv[7]}
        walk(schema, sys.argv[3], sys.argv[4], env)
    elif cmd == "front":
        front(sys.argv[2], sys.argv[3])
    elif cmd == "limit":
        limit(sys.argv[2], int(sys.argv[3]))


if __name__ == "__main__":
    sys.exit(main())
