/*
 * asan-options.c - linked into every program of the AddressSanitizer build
 * (make asan, .ci/run) and nowhere else.
 *
 * The master under test is started by postfix(1), which clears the
 * environment, and it forks plugin workers that drop privileges: an
 * ASAN_OPTIONS variable would not reach them, and their stderr goes nowhere.
 * Compiled-in defaults make every process of that build write its report to
 * ASAN_REPORT_DIR/report.<pid> (a sticky, world-writable directory), where
 * the run looks for reports when the tests are done. Leak checking is off:
 * LeakSanitizer cannot stop the world in a worker that has dropped its
 * privileges (it is no longer dumpable) and then fails that worker with exit
 * status 1; the test runner's own leaks are Foundation's and XCTest's.
 * Faults (SEGV, BUS, FPE, ILL) are left to the process as in a normal
 * build: the crash-containment tests expect a worker killed by the signal,
 * not an ASan exit status.
 */
#ifndef ASAN_REPORT_DIR
#error "compile with -DASAN_REPORT_DIR='\"/path\"'"
#endif

const char *__asan_default_options(void)
{
    return "log_path=" ASAN_REPORT_DIR "/report:detect_leaks=0:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0";
}
