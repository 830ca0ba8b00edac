"""Drives pybm-switch with the real p4runtime-shell (run as a subprocess by
test_p4runtime_shell.py, because p4runtime-shell keeps its session in module
globals). Prints one JSON object with what it observed.

usage: shell_client.py PORT PHASE [P4INFO JSON]
  phase "write": push the pipeline, insert, read, modify, read
  phase "read":  (no pipeline push) read counters, delete, read
"""

import json
import sys

import p4runtime_sh.shell as sh
from google.protobuf import text_format


def match(te) -> dict:
    return {name: text_format.MessageToString(fm, as_one_line=True)
            for name, fm in te.match._mk.items()}


def entries(table: str) -> list[dict]:
    out = []
    for te in sh.TableEntry(table).read():
        out.append({"match": match(te), "action": te.action.action_name,
                    "params": {k: v.value.hex() for k, v in te.action._param_values.items()}})
    return out


def main() -> None:
    port, phase = sys.argv[1], sys.argv[2]
    config = sh.FwdPipeConfig(sys.argv[3], sys.argv[4]) if phase == "write" else None
    sh.setup(device_id=0, grpc_addr=f"127.0.0.1:{port}", election_id=(0, 1), config=config,
             verbose=False)
    seen: dict = {}
    try:
        if phase == "write":
            te = sh.TableEntry("ingress.fwd")(action="ingress.set_port")
            te.match["hdr.ethernet.dstAddr"] = "00:00:00:00:00:aa"
            te.action["port"] = "3"
            te.insert()
            seen["after_insert"] = entries("ingress.fwd")
            te.action["port"] = "5"
            te.modify()
            seen["after_modify"] = entries("ingress.fwd")
            acl = sh.TableEntry("ingress.acl")(action="ingress.set_port")
            acl.match["hdr.ethernet.etherType"] = "0x0800&&&0xff00"
            acl.match["standard_metadata.ingress_port"] = "2"
            acl.priority = 7
            acl.action["port"] = "6"
            acl.insert()
            seen["acl"] = [(e.priority, match(e)) for e in
                           sh.TableEntry("ingress.acl").read()]
        else:
            c = sh.CounterEntry("ingress.port_counter")
            c.index = 1
            seen["counter_1"] = [(x.data.packet_count, x.data.byte_count) for x in c.read()]
            seen["counters_all"] = len(list(sh.CounterEntry("ingress.port_counter").read()))
            dc = sh.DirectCounterEntry("ingress.fwd_counter")
            seen["direct"] = [(x.data.packet_count, x.data.byte_count) for x in dc.read()]
            te = sh.TableEntry("ingress.fwd")
            te.match["hdr.ethernet.dstAddr"] = "00:00:00:00:00:aa"
            te.delete()
            seen["after_delete"] = entries("ingress.fwd")
    finally:
        sh.teardown()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
