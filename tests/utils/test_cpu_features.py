"""keras_creps.utils.cpu_features: bfloat16 instructions read from /proc/cpuinfo's format."""

import sys

import pytest

from keras_creps.utils.cpu_features import cpu_has_bfloat16
from keras_creps.utils.cpu_features import cpu_vendor

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


def test_only_the_first_processor_counts(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(X86.format(extra="avx2") + "vendor_id\t: GenuineIntel\nflags\t\t: amx_bf16\n")
    assert cpu_vendor(str(path)) == "AuthenticAMD"
    assert cpu_has_bfloat16(str(path)) is False


def test_an_unreadable_file_is_unknown(tmp_path):
    assert cpu_has_bfloat16(str(tmp_path / "missing")) is None
    assert cpu_vendor(str(tmp_path / "missing")) is None


@pytest.mark.parametrize("text, expected", [
    (X86.format(extra="avx2"), "AuthenticAMD"),
    (X86.format(extra="avx2").replace("AuthenticAMD", "GenuineIntel"), "GenuineIntel"),
    (ARM.format(extra="bf16"), None),  # Arm lists an implementer code, no vendor_id
])
def test_vendor_is_read(tmp_path, text, expected):
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    assert cpu_vendor(str(path)) == expected


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/cpuinfo is Linux's")
def test_linux_reports_this_cpus_flags():
    assert cpu_has_bfloat16() in (True, False)
