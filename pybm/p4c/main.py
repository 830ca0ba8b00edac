"""pybm-p4c: P4_16 (v1model) to BMv2 JSON + P4Info, command-line compatible
with p4c-bm2-ss for the options the project uses."""
from __future__ import annotations

import json
import os
import sys

from .errors import CompileError

USAGE = ("usage: pybm-p4c [--arch v1model] [--target bmv2] [--std p4-16] [-I DIR] [-D NAME[=VALUE]]\n"
         "                [-o OUT.json] [--p4runtime-files OUT.p4info.txtpb] [--p4runtime-format text]\n"
         "                PROGRAM.p4")


class UsageError(Exception):
    pass


def parse_args(argv: list[str]) -> dict:
    opts: dict = {"include": [], "defines": {}, "output": None, "p4info": None, "source": None}
    i = 0

    def value(flag: str) -> str:
        nonlocal i
        if i + 1 >= len(argv):
            raise UsageError(f"option {flag} needs a value")
        i += 1
        return argv[i]

    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            raise UsageError("")
        if a == "--arch":
            v = value(a)
            if v != "v1model":
                raise UsageError(f"unsupported architecture '{v}' (only v1model)")
        elif a == "--target":
            v = value(a)
            if v != "bmv2":
                raise UsageError(f"unsupported target '{v}' (only bmv2)")
        elif a == "--std":
            v = value(a)
            if v not in ("p4-16", "p416", "p4_16"):
                raise UsageError(f"unsupported language standard '{v}' (only p4-16)")
        elif a == "--p4runtime-format":
            v = value(a)
            if v != "text":
                raise UsageError(f"unsupported P4Runtime format '{v}' (only text)")
        elif a in ("--p4runtime-files", "--p4rt"):
            opts["p4info"] = [f for f in value(a).split(",") if f]
        elif a == "-o":
            opts["output"] = value(a)
        elif a == "-I":
            opts["include"].append(value(a))
        elif a.startswith("-I") and len(a) > 2:
            opts["include"].append(a[2:])
        elif a == "-D" or (a.startswith("-D") and len(a) > 2):
            d = value(a) if a == "-D" else a[2:]
            name, _, val = d.partition("=")
            opts["defines"][name] = val if val else "1"
        elif a.startswith("-"):
            raise UsageError(f"unknown option '{a}'")
        else:
            if opts["source"] is not None:
                raise UsageError("only one input program may be given")
            opts["source"] = a
        i += 1
    if opts["source"] is None:
        raise UsageError("no input program")
    return opts


def compile_program(source: str, include_dirs: list[str] | None = None,
                    defines: dict[str, str] | None = None) -> tuple[dict, str]:
    """Compile a P4 file; returns (BMv2 JSON dict, P4Info text). Raises CompileError."""
    bmv2, info = compile_to_objects(source, include_dirs, defines)
    from .backend.p4info import p4info_text
    return bmv2, p4info_text(info)


def compile_to_objects(source: str, include_dirs: list[str] | None = None,
                       defines: dict[str, str] | None = None, warnings: list[str] | None = None):
    """Compile a P4 file; returns (BMv2 JSON dict, P4Info message). Raises CompileError.
    The warnings (p4c's format, one string each) are appended to 'warnings'."""
    from .backend.bmv2_json import ProgramBuilder
    from .backend.p4info import build_p4info
    from .parser import parse_program
    from .preprocessor import preprocess_file
    from .typecheck import typecheck

    src = preprocess_file(source, include_dirs, defines)
    program = parse_program(src)
    tc = typecheck(program)
    if warnings is not None:
        from .diagnostics import collect_warnings
        warnings.extend(collect_warnings(program, tc.globals, tc.type_warnings, src.expanded))
    builder = ProgramBuilder(tc, source, {})
    bmv2 = builder.build()
    return bmv2, build_p4info(builder)


def write_p4info(info, path: str) -> None:
    """Like p4c: the file name's extension picks the format (.json, .bin, else text)."""
    from google.protobuf import json_format

    from .backend.p4info import p4info_text
    if path.endswith(".json"):
        with open(path, "w", encoding="utf-8") as f:
            f.write(json_format.MessageToJson(info) + "\n")
    elif path.endswith(".bin"):
        with open(path, "wb") as f:
            f.write(info.SerializeToString())
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(p4info_text(info))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        opts = parse_args(argv)
    except UsageError as e:
        if str(e):
            print(f"pybm-p4c: error: {e}", file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2 if str(e) else 0
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    warnings: list[str] = []
    try:
        bmv2, p4info = compile_to_objects(opts["source"], opts["include"], opts["defines"], warnings)
    except CompileError as e:
        for w in warnings:
            print(w, file=sys.stderr)
        print(str(e), file=sys.stderr)
        return 1
    except RecursionError:
        print(f"{opts['source']}:0:0: error: program nesting too deep", file=sys.stderr)
        return 1
    except Exception as e:  # a compiler bug: report it without a traceback
        if os.environ.get("PYBM_P4C_DEBUG"):
            raise
        print(f"{opts['source']}:0:0: error: internal compiler error ({type(e).__name__}: {e}); "
              "set PYBM_P4C_DEBUG=1 for a traceback", file=sys.stderr)
        return 3
    for w in warnings:
        print(w, file=sys.stderr)
    out = opts["output"] or os.path.splitext(os.path.basename(opts["source"]))[0] + ".json"
    try:
        with open(out, "w", encoding="utf-8") as f:
            json.dump(bmv2, f, indent=2)
            f.write("\n")
        for path in opts["p4info"] or []:
            write_p4info(p4info, path)
    except OSError as e:
        print(f"pybm-p4c: error: cannot write output: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
