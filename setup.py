"""Build script for fastnn's compiled kernels.

Every kernel family is one C file in csrc/ plus its Cython binding fastnn/_<family>.pyx;
the extension fastnn._<family> is built from exactly those two sources and linked with the
static library fastnn_runtime (csrc/runtime.c: thread settings, csrc/blas.c: fnn_gemm), which
is compiled once, before the extensions (so a parallel `build_ext -j2` never compiles the same
object twice at once). New families are picked up automatically: add csrc/<family>.c and
fastnn/_<family>.pyx and rebuild.

GEMM comes from the scipy-openblas32 wheel (the OpenBLAS that numpy and scipy build against),
linked by name; fastnn/__init__.py imports scipy_openblas32 first, which loads the library so
that the extensions' dependency on libscipy_openblas.so resolves.

Environment:
  FASTNN_SANITIZE=1     build with AddressSanitizer + UndefinedBehaviorSanitizer (-O1 -g)
  FASTNN_NO_OPENMP=1    build without OpenMP even when the compiler has it
  FASTNN_BUILD_JOBS=N   compile N extensions at once, like build_ext -jN (also under
                        `python -m build` and pip, which have no way to pass -j)
  FASTNN_CYTHON_JOBS=N  run Cython on N .pyx files at once
"""
import os
import subprocess
import sys
import sysconfig
import tempfile
import warnings
from pathlib import Path

import numpy as np
import scipy_openblas32
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).parent.resolve()


def compiler_has_openmp():
    """Compile and link a tiny OpenMP program with the compiler Python was built with."""
    if os.environ.get("FASTNN_NO_OPENMP"):
        return False
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    src = "#include <omp.h>\nint main(void){int n=0;\n#pragma omp parallel reduction(+:n)\nn+=1;\nreturn n>0?0:1;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.c"
        path.write_text(src)
        cmd = cc.split() + ["-fopenmp", str(path), "-o", str(Path(tmp) / "t")]
        try:
            return subprocess.run(cmd, capture_output=True).returncode == 0
        except OSError:
            return False


OPENMP = compiler_has_openmp()
if not OPENMP:
    warnings.warn("fastnn: compiler has no OpenMP; kernels will run on one thread (BLAS still threads)")

SANITIZE = os.environ.get("FASTNN_SANITIZE", "") not in ("", "0")

compile_args = ["-O3", "-fno-strict-aliasing", "-Wno-unused-function"]
link_args = []
if SANITIZE:
    # -fno-wrapv: Python's own CFLAGS carry -fwrapv, under which GCC defines signed overflow as
    # wrapping and UBSan stops checking it; a sanitizer build wants every overflow reported.
    # float-cast-overflow (not part of GCC's "undefined"): a NaN or out-of-range float
    # converted to an integer type, e.g. an index or a count computed from a float argument.
    # -fno-sanitize-recover: a UB report aborts the process instead of printing and going on.
    compile_args = ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-wrapv",
                    "-fsanitize=address,undefined,float-cast-overflow",
                    "-fno-sanitize-recover=undefined,float-cast-overflow"]
    link_args += ["-fsanitize=address,undefined,float-cast-overflow"]
if OPENMP:
    compile_args.append("-fopenmp")
    link_args.append("-fopenmp")

blas_lib_dir = scipy_openblas32.get_lib_dir()
link_args += [
    # the installed wheel sits beside fastnn/ in site-packages; the import of scipy_openblas32
    # in fastnn/__init__.py is what really loads it, the rpath is a fallback for direct loads
    "-Wl,-rpath,$ORIGIN/../scipy_openblas32/lib",
]

FLAGS_STRING = " ".join(compile_args)


def extensions():
    exts = []
    for pyx in sorted((ROOT / "fastnn").glob("_*.pyx")):
        family = pyx.stem[1:]
        csrc = ROOT / "csrc" / f"{family}.c"
        sources = [f"fastnn/{pyx.name}"]
        if csrc.exists():
            sources.append(f"csrc/{family}.c")
        exts.append(Extension(
            f"fastnn._{family}",
            sources=sources,
            include_dirs=["csrc", np.get_include(), scipy_openblas32.get_include_dir()],
            library_dirs=[blas_lib_dir],
            libraries=["fastnn_runtime", scipy_openblas32.get_library()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION"),
                           ("FASTNN_COMPILE_FLAGS", '"%s"' % FLAGS_STRING)],
            extra_compile_args=compile_args,
            extra_link_args=link_args,
        ))
    return exts


# Linked statically into every extension: each extension keeps its own copy of the thread
# setting (fastnn.set_num_threads updates them all). -fPIC because it ends up in shared objects.
RUNTIME_LIB = ("fastnn_runtime", {
    "sources": ["csrc/runtime.c", "csrc/blas.c"],
    "include_dirs": ["csrc", scipy_openblas32.get_include_dir()],
    "cflags": compile_args + ["-fPIC"],
})



class BuildExt(build_ext):
    """build_ext that builds the runtime library first, also for `build_ext --inplace`
    (plain setuptools only does that under `build`)."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None and os.environ.get("FASTNN_BUILD_JOBS"):
            self.parallel = int(os.environ["FASTNN_BUILD_JOBS"])

    def run(self):
        self.run_command("build_clib")
        super().run()


setup(
    cmdclass={"build_ext": BuildExt},
    libraries=[RUNTIME_LIB],
    ext_modules=cythonize(
        extensions(),
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "embedsignature": True,
        },
        nthreads=int(os.environ.get("FASTNN_CYTHON_JOBS", "0")),
    ),
)
