from pathlib import Path

import pytest

from pybm.p4c.errors import CompileError
from pybm.p4c.preprocessor import Preprocessor


def lines(src) -> list[str]:
    return [ln for ln in src.text.split("\n")]


def test_object_and_function_macros():
    src = Preprocessor().run_text("#define W 8\n#define ADD(a, b) ((a) + (b))\nbit<W> x = ADD(1, W);\n")
    assert "bit<8> x = ((1) + (8));" in src.text


def test_if_elif_else_and_defined():
    text = ("#define A 2\n#if defined(A) && A > 1\nyes\n#elif A == 1\nno1\n#else\nno2\n#endif\n"
            "#ifdef B\nnob\n#endif\n#ifndef B\nnotb\n#endif\n")
    out = Preprocessor().run_text(text).text
    assert "yes" in out and "no1" not in out and "no2" not in out
    assert "nob" not in out and "notb" in out


def test_nested_conditionals_skip_inner_branches():
    text = "#if 0\n#if 1\ninner\n#else\ninner2\n#endif\n#else\nouter\n#endif\n"
    out = Preprocessor().run_text(text).text
    assert "inner" not in out and "outer" in out


def test_line_map_points_at_original_lines(tmp_path: Path):
    inc = tmp_path / "inc.p4"
    inc.write_text("// header\nconst bit<8> X = 1;\n")
    main = tmp_path / "main.p4"
    main.write_text('/* a\n   comment */\n#include "inc.p4"\nconst bit<8> Y = 2;\n')
    src = Preprocessor().run_file(str(main))
    out = lines(src)
    ix = next(i for i, ln in enumerate(out) if "X = 1" in ln)
    iy = next(i for i, ln in enumerate(out) if "Y = 2" in ln)
    assert src.line_map[ix] == (str(inc), 2)
    assert src.line_map[iy] == (str(main), 4)


def test_angle_include_uses_builtin_and_search_path(tmp_path: Path):
    (tmp_path / "mine.p4").write_text("const bit<8> MINE = 3;\n")
    main = tmp_path / "main.p4"
    main.write_text("#include <core.p4>\n#include <mine.p4>\n")
    src = Preprocessor(include_dirs=[str(tmp_path)]).run_file(str(main))
    assert "packet_in" in src.text and "MINE = 3" in src.text


def test_command_line_defines():
    out = Preprocessor(defines={"N": "4"}).run_text("#if N == 4\nfour\n#endif\n").text
    assert "four" in out


def test_errors_are_located():
    with pytest.raises(CompileError) as e:
        Preprocessor().run_text('\n#include "nope.p4"\n', "x.p4")
    assert (e.value.loc.file, e.value.loc.line) == ("x.p4", 2)
    with pytest.raises(CompileError) as e:
        Preprocessor().run_text("#if 1\n", "y.p4")
    assert "unterminated" in e.value.message
    with pytest.raises(CompileError) as e:
        Preprocessor().run_text("\n\n#error stop here\n", "z.p4")
    assert e.value.loc.line == 3 and "stop here" in e.value.message


def test_macros_not_expanded_in_strings_and_comments():
    out = Preprocessor().run_text('#define X 1\n@name("X") // X\nX\n').text
    assert '@name("X")' in out
    assert out.split("\n")[2].strip() == "1"


def test_macro_arguments_over_several_lines():
    # cpp collects a function-like macro's arguments across lines; the expansion stays on
    # the invocation's line and the lines it took stay empty, so later lines keep their numbers
    text = "#define TWO(a, b) bit<8> a = 2; bit<8> b = 3;\nTWO(u1,\n    u2)\nafter\n"
    src = Preprocessor().run_text(text, "m.p4")
    out = lines(src)
    assert out[1] == "bit<8> u1 = 2; bit<8> u2 = 3;" and out[2] == "" and out[3] == "after"
    assert src.loc(4, 1).line == 4
    assert src.expanded["m.p4"][2] == "bit<8> u1 = 2; bit<8> u2 = 3;"


def test_macro_arguments_never_closed_is_located():
    with pytest.raises(CompileError) as e:
        Preprocessor().run_text("#define F(a) a\nF(1,\n2\n#define G 1\n", "m.p4")
    assert str(e.value) == "m.p4:2:1: error: unterminated macro invocation"


def test_stringify_paste_variadic_and_builtin_macros():
    # expected output: GNU cpp -P on the same text
    text = ('#define X 1\n#define S(a) #a\n#define XS(a) S(a)\nS(X) XS(X) S( a  "q"  b )\n'
            '#define P(a,b) a##b\n#define Y 2\nP(X, Y) P(,v) P(u,)\n#define OB pre ## fix\nOB\n'
            '#define V2(f, ...) f(__VA_ARGS__)\nV2(g) V2(g, 1) V2(g,1,(2,3))\n__LINE__ __FILE__\n')
    out = [ln for ln in lines(Preprocessor().run_text(text, "m.p4")) if ln]
    assert out == ['"X" "1" "a \\"q\\" b"', "XY v u", "prefix", "g() g(1) g(1,(2,3))", '12 "m.p4"']


def test_variadic_macro_needs_its_named_arguments():
    with pytest.raises(CompileError) as e:
        Preprocessor().run_text("#define V(a, b, ...) a\nV(1)\n", "m.p4")
    assert str(e.value) == "m.p4:2:1: error: macro 'V' expects at least 2 arguments, got 1"


def test_warning_inside_a_macro_shows_the_expanded_line() -> None:
    # p4c-bm2-ss 1.2.5.16's output on the same program (tests/p4programs/macro_expansion.p4)
    import subprocess
    import sys
    corpus = Path(__file__).resolve().parents[1] / "p4programs"
    done = subprocess.run([str(Path(sys.executable).parent / "pybm-p4c"), "-I", ".", "-o", "/dev/null",
                           "macro_expansion.p4"], capture_output=True, text=True, cwd=corpus)
    assert done.returncode == 0, done.stderr
    assert done.stderr.split("\n")[3:] == [
        "macro_expansion.p4(25): [--Wwarn=unused] warning: 'unused_a' is unused",
        "        bit<8> unused_a = 2; bit<8> unused_b = 3;",
        "               ^^^^^^^^",
        "macro_expansion.p4(25): [--Wwarn=unused] warning: 'unused_b' is unused",
        "        bit<8> unused_a = 2; bit<8> unused_b = 3;",
        "                                    ^^^^^^^^",
        ""]
