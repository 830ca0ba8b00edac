import subprocess
import sys
from pathlib import Path

from google.protobuf import text_format
from p4.config.v1 import p4info_pb2

from .conftest import program_with_ingress

BIN = Path(sys.executable).parent / "pybm-p4c"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True)


def test_unknown_flag_is_refused_with_exit_2():
    r = run("--frobnicate", "x.p4")
    assert r.returncode == 2
    assert "unknown option '--frobnicate'" in r.stderr


def test_unsupported_arch_is_refused():
    r = run("--arch", "psa", "x.p4")
    assert r.returncode == 2 and "v1model" in r.stderr


def test_p4c_compatible_flags_and_outputs(tmp_path: Path):
    src = tmp_path / "prog.p4"
    src.write_text(program_with_ingress("""
        action a() { sm.egress_spec = 1; }
        table t { key = { hdr.h.a : exact; } actions = { a; } }
        apply { t.apply(); }"""))
    out, info = tmp_path / "o.json", tmp_path / "o.p4info.txtpb"
    r = run("--target", "bmv2", "--arch", "v1model", "--std", "p4-16", "--p4runtime-format", "text",
            "-D", "UNUSED=1", "-I", str(tmp_path), "-o", str(out), "--p4runtime-files", str(info), str(src))
    assert r.returncode == 0, r.stderr
    assert out.read_text().startswith("{")
    parsed = text_format.Parse(info.read_text(), p4info_pb2.P4Info())
    # p4runtime-shell accepts it and resolves names and ids both ways
    from p4runtime_sh.context import Context
    ctx = Context()
    ctx.set_p4info(parsed)
    tid = parsed.tables[0].preamble.id
    assert ctx.get_name_from_id(tid) == "IG.t"


def test_user_error_has_location_and_no_traceback(tmp_path: Path):
    src = tmp_path / "bad.p4"
    src.write_text(program_with_ingress("apply { hdr.h.a = true; }"))
    r = run("-o", str(tmp_path / "x.json"), str(src))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert r.stderr.startswith(f"{src}:")
    assert ": error: cannot use a value of type 'bool'" in r.stderr
