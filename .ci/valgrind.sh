#!/usr/bin/env bash
# CI: valgrind memcheck on a short run of every compiled kernel (tests/memcheck_run.py: forward,
# backward and step of each family, both dtypes, 1 and 2 threads, plus calls that must raise),
# with the normal build of fastnn that `python` imports (in CI: after `pip install -e .`; by
# hand: after `python setup.py build_ext --inplace`). Fails if memcheck reports any error with a
# frame in fastnn's code (.ci/valgrind_check.py); errors wholly inside Python, numpy, OpenBLAS
# or libgomp are counted and printed, not failed on. Leaks are not checked here
# (--leak-check=no: CPython does not free its modules at exit); tests/test_leaks.py does that.
#
#     .ci/valgrind.sh [SCALE]        SCALE: size of the 2-thread pass (default 12000)
#
# The XML report is left in $VALGRIND_OUT (default: a fresh mktemp directory, printed).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"

if ! command -v valgrind >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        echo "valgrind.sh: valgrind missing, installing it with apt-get"
        SUDO=""
        if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
        $SUDO apt-get update -qq && $SUDO apt-get install -y -qq valgrind >/dev/null
    fi
    if ! command -v valgrind >/dev/null 2>&1; then
        echo "valgrind.sh: FAILED: valgrind is not installed and could not be installed (no apt-get or no rights)" >&2
        exit 1
    fi
fi

# valgrind must run the Python binary itself, not a wrapper script (pyenv shims are bash).
PYBIN="$("$PY" -c 'import sys; print(sys.executable)')"
# An in-place build in this tree is what gets tested; otherwise the installed fastnn.
if compgen -G "fastnn/_*.so" >/dev/null; then
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
# Fail fast, natively, when fastnn is not built.
"$PY" -c "import fastnn.functional, fastnn, os; print('valgrind.sh: fastnn from', os.path.dirname(fastnn.__file__), 'flags', fastnn._config.config()['compile_flags'])"

OUTDIR="${VALGRIND_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/fastnn-valgrind.XXXXXX")}"
mkdir -p "$OUTDIR"
XML="$OUTDIR/memcheck.xml"
echo "valgrind.sh: $(valgrind --version), report in $XML"

start=$(date +%s)
status=0
# PYTHONMALLOC=malloc: every Python allocation goes through malloc, so memcheck sees each
# block's bounds (pymalloc's arenas would hide overruns between small objects).
# --track-origins=yes: an uninitialised value is traced to the allocation that made it, so an
# output element a kernel forgot to write is blamed on fastnn even when numpy reads it.
PYTHONMALLOC=malloc OPENBLAS_NUM_THREADS=1 \
    valgrind --tool=memcheck --leak-check=no --track-origins=yes --error-limit=no \
    --num-callers=40 --xml=yes --xml-file="$XML" \
    "$PYBIN" tests/memcheck_run.py "$@" || status=$?
echo "valgrind.sh: memcheck run took $(( $(date +%s) - start )) s, exit status $status"

check=0
"$PY" .ci/valgrind_check.py "$XML" || check=$?
if [ "$status" -ne 0 ]; then
    echo "valgrind.sh: FAILED: the run under valgrind exited with status $status" >&2
    exit 1
fi
if [ "$check" -ne 0 ]; then
    echo "valgrind.sh: FAILED: memcheck errors in fastnn's code (see above; report $XML)" >&2
    exit 1
fi
echo "valgrind.sh: OK, no memcheck errors in fastnn's code"
