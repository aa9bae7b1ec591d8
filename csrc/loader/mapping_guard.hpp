// Reading a memory-mapped file that another process shrinks (truncates) faults on the pages that
// are gone: SIGBUS on POSIX, EXCEPTION_IN_PAGE_ERROR on Windows, and the process dies. The guard
// turns such a fault into a return value, so that the loader can raise an error naming the file.
//
// POSIX: a SIGBUS handler, installed at the first guarded read, jumps back (siglongjmp) to the
// guarded call of the faulting thread; a SIGBUS outside a guarded read goes to the handler that
// was there before (Python's faulthandler, say), or to the default action. Windows: __try /
// __except around the read (a shrunk mapped file cannot be truncated there, but a file on a
// network drive can fail to page in).
#pragma once

namespace tinygpt {

namespace detail {
bool call_guarded(void (*read)(void*), void* context, const void*& fault);
}

// Runs read(); returns true when it finished, false (and the faulting address in `fault`) when
// it faulted on a mapping. Exceptions from read() propagate. read() must own no resources (no
// local std::string, std::vector, lock...): a fault leaves it by a jump that skips destructors.
template <typename Read>
bool read_mapped(Read& read, const void*& fault) {
    return detail::call_guarded([](void* context) { (*static_cast<Read*>(context))(); }, &read,
                                fault);
}

}  // namespace tinygpt
