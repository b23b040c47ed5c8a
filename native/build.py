"""cffi build script for jail's native helper (out-of-line API mode).

Run at install time through setup.py's cffi_modules; the generated C and the
compiled module are never committed.
"""

from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
WARNINGS = ["-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-Wno-missing-field-initializers"]

ffibuilder = FFI()
ffibuilder.cdef((HERE / "jail_native.h").read_text() + (HERE / "jail_keywords.h").read_text())
ffibuilder.set_source(
    "jail._native",
    '#include <stdint.h>\n#include "jail_native.h"\n#include "jail_keywords.h"',
    # relative paths: setuptools refuses absolute ones
    sources=["native/jail_native.c", "native/jail_keywords.c", "native/jail_fastpath.c"],
    include_dirs=["native"],
    extra_compile_args=["-O2", "-std=gnu11", *WARNINGS],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
