"""Arrow string arrays as the encoder reads them: UTF-8 bytes and offsets, no Python object
per text. Duck-typed on pyarrow's array API, so this module does not import pyarrow."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygpt.errors import ConfigError, DataError


def utf8_buffers(array: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets as int64, UTF-8 bytes)`` of a pyarrow string array, sharing Arrow's memory
    (the offsets are copied only to widen 32-bit ones)."""
    kind = str(getattr(array, "type", ""))
    if kind == "string_view":
        array, kind = array.cast("large_string"), "large_string"
    widths = {"string": np.int32, "large_string": np.int64}
    if kind not in widths:
        raise ConfigError(
            f"expected a pyarrow string or large_string array of text, got {kind or type(array).__name__}"
        )
    if array.null_count:
        raise DataError(f"the array holds {array.null_count} null rows; drop them first (array.drop_null())")
    _, offset_buffer, data_buffer = array.buffers()
    if offset_buffer is None:  # an empty array may carry no buffers at all
        return np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.uint8)
    offsets = np.frombuffer(offset_buffer, dtype=widths[kind])[array.offset : array.offset + len(array) + 1]
    data = np.empty(0, dtype=np.uint8) if data_buffer is None else np.frombuffer(data_buffer, dtype=np.uint8)
    return offsets.astype(np.int64, copy=False), data
