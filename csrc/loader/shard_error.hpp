// The one exception type the loader throws for bad files; Python sees it as
// tinygpt.errors.DataError.
#pragma once

#include <stdexcept>
#include <string>

namespace tinygpt {

class ShardError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace tinygpt
