import pytest

from pybm.p4c.constfold import fold_cast, fold_slice, fold_unary, wrap
from pybm.p4c.errors import CompileError
from pybm.p4c.types import BitT, BoolT, IntT

from .conftest import PRELUDE, check_text


def const(expr: str, typ: str):
    prog, _ = check_text(PRELUDE + f"const {typ} X = {expr};\n")
    return prog.decls[-1].const


def test_wrap_unsigned_and_signed():
    assert wrap(256 + 7, BitT(8)) == 7
    assert wrap(-1, BitT(8)) == 255
    assert wrap(255, BitT(8, True)) == -1
    assert wrap(10**30, IntT()) == 10**30


def test_unary_slice_and_cast():
    assert fold_unary("~", 0, BitT(4)) == 15
    assert fold_unary("-", 1, BitT(8)) == 255
    assert fold_slice(0xABCD, 11, 4) == 0xBC
    assert fold_cast(300, IntT(), BitT(8)) == 44
    assert fold_cast(1, BitT(1), BoolT()) is True


@pytest.mark.parametrize("expr,typ,value", [
    ("8w200 + 8w100", "bit<8>", 44),
    ("8w3 - 8w5", "bit<8>", 254),
    ("8w250 |+| 8w10", "bit<8>", 255),
    ("8w5 |-| 8w10", "bit<8>", 0),
    ("8s100 |+| 8s100", "int<8>", 127),
    ("(bit<8>)(16w0x1234 >> 4)", "bit<8>", 0x23),
    ("8w1 << 9", "bit<8>", 0),
    ("4w0xA ++ 4w0x5", "bit<8>", 0xA5),
    ("(8w7 * 8w40)", "bit<8>", 24),
    ("2 ** 0 == 0 ? 8w1 : 8w2", "bit<8>", None),
    ("1 + 2 * 3", "int", 7),
    ("-8s128", "int<8>", -128),
    ("(int<8>)8w255", "int<8>", -1),
])
def test_folded_constants(expr: str, typ: str, value):
    if value is None:
        with pytest.raises(CompileError):
            const(expr, typ)
        return
    assert const(expr, typ) == value


def test_division_by_zero_is_an_error():
    with pytest.raises(CompileError) as e:
        const("8w4 / 8w0", "bit<8>")
    assert "division by zero" in e.value.message
