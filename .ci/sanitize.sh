#!/usr/bin/env bash
# CI: build fastnn with AddressSanitizer + UndefinedBehaviorSanitizer (FASTNN_SANITIZE=1, see
# setup.py) in a throw-away copy of the source tree, then run the kernel test suite against that
# build. Fails (non-zero) if any test fails or any sanitizer report appears: a report ends the
# process it happens in (pytest itself, or a child of the fuzzer / thread tests, which check
# their children's exit status), and the output is searched for reports as well.
#
#     .ci/sanitize.sh [extra pytest args]       e.g. .ci/sanitize.sh -x -k conv
#
# The copy is a mktemp directory holding the files git knows (tracked, plus untracked files that
# are not ignored), so no sanitized .so is ever left in the repository, where a later normal
# install/test would pick it up. FASTNN_SANITIZE_KEEP=1 keeps the directory for debugging.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/fastnn-sanitize.XXXXXX")"
if [ -z "${FASTNN_SANITIZE_KEEP:-}" ]; then
    trap 'rm -rf "$WORK"' EXIT
else
    echo "sanitize: keeping $WORK"
fi

# 1. Copy the tree. Tracked + untracked-but-not-ignored files: what a clean clone has, plus a
#    developer's new files; never build/, *.so, generated .c or caches.
git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
    | (cd "$ROOT" && tar --null -T - -cf -) | tar -xf - -C "$WORK"

# 2. Build in place inside the copy, with pyproject.toml's build requirements (Cython...) in
#    this environment: `pip install -e .` built in an isolated one, so they may be missing here.
"$PY" - "$ROOT/pyproject.toml" <<'PYEOF' > "$WORK/build-requires.txt"
import sys
try:
    import tomllib
except ImportError:           # Python < 3.11
    import tomli as tomllib
with open(sys.argv[1], "rb") as fh:
    print("\n".join(tomllib.load(fh)["build-system"]["requires"]))
PYEOF
"$PY" -m pip install -q -r "$WORK/build-requires.txt"
start=$(date +%s)
jobs="$(nproc 2>/dev/null || echo 2)"
echo "sanitize: building in $WORK (FASTNN_SANITIZE=1, -j$jobs)"
if ! (cd "$WORK" && FASTNN_SANITIZE=1 FASTNN_CYTHON_JOBS="$jobs" \
        "$PY" setup.py -q build_ext --inplace -j"$jobs" >"$WORK/build.log" 2>&1); then
    tail -n 60 "$WORK/build.log"
    echo "sanitize: FAILED to build" >&2
    exit 1
fi
echo "sanitize: built in $(( $(date +%s) - start )) s"

# 3. Run the kernel tests with the sanitizer runtime preloaded (python itself is not built
#    with ASan, so libasan must be the first library loaded). Reports go to stderr (GCC's
#    UBSan runtime ignores log_path when ASan is loaded too), which is saved with stdout in
#    $WORK/pytest.log and searched.
LIBASAN="$(gcc -print-file-name=libasan.so)"
if [ ! -e "$LIBASAN" ]; then
    echo "sanitize: gcc has no libasan.so ($LIBASAN); install the gcc sanitizer runtimes" >&2
    exit 1
fi
#   detect_leaks=0   CPython frees little at exit, so LeakSanitizer would report Python's own
#                    allocations; leaks are tested by tests/test_leaks.py.
#   allocator_may_return_null=1  a huge allocation returns NULL (numpy: MemoryError, which the
#                    fuzzer expects of huge sizes) instead of ASan aborting the process.
#   halt_on_error=1  with -fno-sanitize-recover (setup.py) the first UB report ends the
#                    process, with exit status 1; an ASan report always does.
#   SEGV handling stays at the defaults: faulthandler (pytest) chains to ASan's handler.
export LD_PRELOAD="$LIBASAN${LD_PRELOAD:+:$LD_PRELOAD}"
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"

# Every kernel family's tests, the shared math, threads and the bad-input fuzzer, plus the
# layers that drive the kernels end to end. Not the examples/training tests (minutes under
# ASan, and they reach no kernel code path the others miss). torch comparisons skip when
# torch is absent.
TESTS=()
for fam in $(cd "$WORK" && "$PY" -c "from fastnn._config import FAMILIES; print(*FAMILIES)"); do
    TESTS+=("tests/test_$fam.py")
done
TESTS+=(tests/test_mathfn.py tests/test_threads.py tests/test_fuzz.py
        tests/test_nn.py tests/test_nn_cnn.py tests/test_nn_rnn.py)

cd "$WORK"
# The tests must import the sanitized build from this copy, not an installed fastnn.
"$PY" - <<'EOF'
import os, fastnn
from fastnn._config import config
here = os.path.realpath(os.getcwd())
assert os.path.realpath(fastnn.__file__).startswith(here + os.sep), \
    f"sanitize: imported {fastnn.__file__}, not the sanitized build in {here}"
flags = config()["compile_flags"]
assert "-fsanitize=address,undefined" in flags, f"sanitize: build flags are {flags!r}"
print("sanitize: fastnn from", os.path.dirname(fastnn.__file__), "built with", flags)
EOF

start=$(date +%s)
status=0
# --capture=sys: pytest captures Python's sys.stdout/err only, so a sanitizer report (written
# by C to fd 2 just before the process ends, when pytest never shows captured output) is seen.
"$PY" -m pytest -q -p no:cacheprovider --capture=sys "${TESTS[@]}" "$@" 2>&1 | tee "$WORK/pytest.log" \
    || status=${PIPESTATUS[0]}
echo "sanitize: tests ran in $(( $(date +%s) - start )) s, pytest exit status $status"

# UBSan: "file:line:col: runtime error: ..."; ASan: "ERROR: AddressSanitizer: ...".
reports=$(grep -cE "runtime error:|ERROR: AddressSanitizer|AddressSanitizer:DEADLYSIGNAL" \
          "$WORK/pytest.log" || true)
if [ "$reports" -ne 0 ]; then
    echo "sanitize: FAILED: $reports sanitizer report(s) in the output above" >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "sanitize: FAILED: pytest exit status $status" >&2
    exit "$status"
fi
echo "sanitize: OK, no sanitizer reports"
