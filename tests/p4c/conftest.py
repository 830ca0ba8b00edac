"""Helpers shared by the pybm-p4c tests."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pybm.p4c.parser import parse_program
from pybm.p4c.preprocessor import Preprocessor
from pybm.p4c.typecheck import typecheck

PRELUDE = "#include <core.p4>\n#include <v1model.p4>\n"

# The differential tests against the real p4c / BMv2 are collected only where the
# real tools are on PATH (`make test-real` requires them); elsewhere (CI) they are
# not part of the run at all rather than reported as skipped.
collect_ignore = [] if shutil.which("p4c-bm2-ss") and shutil.which("real-stf") \
    else ["test_vs_real_p4c.py"]


def parse_text(text: str, fname: str = "t.p4"):
    src = Preprocessor().run_text(text, fname)
    return parse_program(src)


def check_text(text: str):
    prog = parse_text(text)
    return prog, typecheck(prog, require_main="V1Switch(" in text)


V1_SKELETON = PRELUDE + """
header h_t { bit<8> a; bit<8> b; bit<16> c; }
struct headers { h_t h; }
struct meta_t { bit<8> m; }
parser P(packet_in pkt, out headers hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout meta_t meta) { apply { } }
control EG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout meta_t meta) { apply { } }
control DP(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.h); } }
"""


def program_with_ingress(ingress_body: str) -> str:
    return (V1_SKELETON + "control IG(inout headers hdr, inout meta_t meta, inout standard_metadata_t sm) {\n"
            + ingress_body + "\n}\nV1Switch(P(), VC(), IG(), EG(), CC(), DP()) main;\n")


@pytest.fixture
def tmp_p4(tmp_path: Path):
    def write(text: str, name: str = "prog.p4") -> Path:
        p = tmp_path / name
        p.write_text(text)
        return p
    return write
