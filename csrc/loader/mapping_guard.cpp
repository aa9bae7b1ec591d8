#include "mapping_guard.hpp"

#ifdef _WIN32
#include <windows.h>  // with NOMINMAX and WIN32_LEAN_AND_MEAN (CMakeLists.txt)
#else
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#endif

namespace tinygpt::detail {

#if defined(_MSC_VER)

namespace {

int in_page_error(const EXCEPTION_POINTERS* info, const void** fault) {
    const EXCEPTION_RECORD* record = info->ExceptionRecord;
    if (record->ExceptionCode != EXCEPTION_IN_PAGE_ERROR || record->NumberParameters < 2) {
        return EXCEPTION_CONTINUE_SEARCH;
    }
    *fault = reinterpret_cast<const void*>(record->ExceptionInformation[1]);
    return EXCEPTION_EXECUTE_HANDLER;
}

}  // namespace

bool call_guarded(void (*read)(void*), void* context, const void*& fault) {
    const void* address = nullptr;
    __try {
        read(context);
    } __except (in_page_error(GetExceptionInformation(), &address)) {
        fault = address;
        return false;
    }
    return true;
}

#elif defined(_WIN32)

bool call_guarded(void (*read)(void*), void* context, const void*&) {
    read(context);  // no structured exception handling without MSVC
    return true;
}

#else

namespace {

// This thread's guarded read: where the SIGBUS handler jumps to, and what it found. One
// thread_local of constant initialisation, so that the handler reads it without allocating.
struct ThreadGuard {
    sigjmp_buf* jump = nullptr;  // null: no guarded read in progress
    const void* fault = nullptr;
};

thread_local ThreadGuard this_thread;
struct sigaction previous_action;

void forward(int signal, siginfo_t* info, void* context) {
    if (previous_action.sa_flags & SA_SIGINFO) {
        previous_action.sa_sigaction(signal, info, context);
    } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
        previous_action.sa_handler(signal);
    } else {
        // The default action: a fault happens again when the handler returns; a signal that was
        // sent (si_code <= 0) is sent again.
        struct sigaction default_action{};
        default_action.sa_handler = SIG_DFL;
        sigaction(signal, &default_action, nullptr);
        if (info->si_code <= 0) raise(signal);
    }
}

void on_bus_error(int signal, siginfo_t* info, void* context) {
    sigjmp_buf* const jump = this_thread.jump;
    if (jump == nullptr) return forward(signal, info, context);
    this_thread.fault = info->si_addr;
    siglongjmp(*jump, 1);
}

bool install_handler() {
    struct sigaction action{};
    action.sa_sigaction = on_bus_error;
    sigemptyset(&action.sa_mask);
    // SA_NODEFER and SA_ONSTACK as Python's faulthandler sets them, so that forwarding to it
    // behaves as if it had been called directly.
    action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    return sigaction(SIGBUS, nullptr, &previous_action) == 0 &&
           sigaction(SIGBUS, &action, nullptr) == 0;
}

}  // namespace

bool call_guarded(void (*read)(void*), void* context, const void*& fault) {
    static const bool installed = install_handler();
    if (!installed) {
        read(context);
        return true;
    }
    sigjmp_buf jump;
    sigjmp_buf* const outer = this_thread.jump;
    // No signal mask is saved (that would be a system call per read): the handler does not
    // block SIGBUS (SA_NODEFER); unblocking it again covers a handler that forwarded to ours.
    if (sigsetjmp(jump, 0) != 0) {
        this_thread.jump = outer;
        sigset_t bus_error;
        sigemptyset(&bus_error);
        sigaddset(&bus_error, SIGBUS);
        pthread_sigmask(SIG_UNBLOCK, &bus_error, nullptr);
        fault = this_thread.fault;
        return false;
    }
    this_thread.jump = &jump;
    try {
        read(context);
    } catch (...) {
        this_thread.jump = outer;
        throw;
    }
    this_thread.jump = outer;
    return true;
}

#endif

}  // namespace tinygpt::detail
