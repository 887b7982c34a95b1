"""keras_creps.utils.cpu_features: bfloat16 instructions read from /proc/cpuinfo's format."""

import sys

import pytest

from keras_creps.utils.cpu_features import cpu_has_bfloat16

pytestmark = pytest.mark.backend_independent

X86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 fma {extra}\n\nprocessor\t: 1\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd {extra} sha2\nCPU implementer\t: 0x41\n"


@pytest.mark.parametrize("text, expected", [
    (X86.format(extra="avx512f avx512bw avx512_bf16"), True),
    (X86.format(extra="amx_tile amx_bf16"), True),
    (X86.format(extra="avx512f avx512bw"), False),  # AVX-512 without its bfloat16 extension
    (X86.format(extra=""), False),
    (ARM.format(extra="bf16 i8mm"), True),
    (ARM.format(extra="sve"), False),
    ("processor\t: 0\nmodel name\t: something\n", None),  # no flags line
])
def test_flags_decide(tmp_path, text, expected):
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    assert cpu_has_bfloat16(str(path)) is expected


def test_an_unreadable_file_is_unknown(tmp_path):
    assert cpu_has_bfloat16(str(tmp_path / "missing")) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/cpuinfo is Linux's")
def test_linux_reports_this_cpus_flags():
    assert cpu_has_bfloat16() in (True, False)
