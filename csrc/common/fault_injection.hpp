// Test-only fault injection. Tests arm a point so that its n-th check from now fails, to prove
// that a failed thread start or buffer allocation reaches Python as an exception instead of
// ending the process. Disarmed, a check is one relaxed atomic load.
#pragma once

#include <atomic>
#include <new>
#include <system_error>

namespace tinygpt::fault_injection {

enum class Point : int { kThreadStart = 0, kBufferAllocation = 1 };

// Checks left before the failure, per point; 0 or less: disarmed. Each extension module has its
// own copy (symbols are hidden), armed through its own private `_fail_nth`.
inline std::atomic<int> countdown[2];

// The n-th check of `point` from now throws (n = 0 disarms).
inline void fail_nth(Point point, int n) {
    countdown[static_cast<int>(point)].store(n);
}

// Throws what the real operation throws when it fails, if this is the armed check.
inline void check(Point point) {
    std::atomic<int>& left = countdown[static_cast<int>(point)];
    if (left.load(std::memory_order_relaxed) <= 0 || left.fetch_sub(1) != 1) return;
    if (point == Point::kBufferAllocation) throw std::bad_alloc();
    throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                            "cannot start a thread (injected failure)");
}

}  // namespace tinygpt::fault_injection
