"""A small reader and writer for RON (Rusty Object Notation), the format of gpt-rs's files.

We write it ourselves because the PyPI RON packages need a Rust toolchain to install. It covers
what serde + the ``ron`` crate produce and accept for plain data:

=========================  ======================================================
RON                        Python
=========================  ======================================================
``(name: v, ...)``          ``dict`` with ``str`` keys (a struct; ``Name(...)`` too,
                           the name is dropped, as ``ron`` drops it when writing)
``{k: v, ...}``            :class:`RonMap` (a ``dict`` whose keys are any hashable)
``[a, b]``                 ``list``
``(a, b)``                 ``tuple`` (``(a,)`` for one element; ``Name(a, b)`` too)
``()``                     ``()`` (unit)
``'a'``                    :class:`Char` (a ``str`` of length 1)
``"text"``, ``r#"raw"#``   ``str``
``42``, ``-0x2A``          ``int``
``2e-4``, ``inf``, ``NaN``  ``float``
``true`` / ``false``       ``bool``
``None`` / ``Some(x)``     ``None`` / ``x``
``Variant``                :class:`Ident` (a bare identifier: unit struct or enum variant)
=========================  ======================================================

Comments (``//`` and nested ``/* */``), trailing commas and ``#![enable(...)]`` headers are
accepted. Writing a plain ``dict`` gives a struct when every key is an identifier, else a map.
Long lists of int records (a tokenizer's merges) are read and written a column at a time;
:class:`Records` writes such a list from its columns without building it.

>>> loads("(vocab_size: 2048, learning_rate: 2e-4)")
{'vocab_size': 2048, 'learning_rate': 0.0002}
>>> dumps({"from": (3, 7), "to": 64}, pretty=False)
'(from:(3,7),to:64)'
"""

from __future__ import annotations

from tinygpt.ron.parser import load, loads
from tinygpt.ron.records import Records
from tinygpt.ron.values import Char, Ident, RonError, RonMap
from tinygpt.ron.writer import dump, dumps

__all__ = [
    "Char",
    "Ident",
    "Records",
    "RonError",
    "RonMap",
    "dump",
    "dumps",
    "load",
    "loads",
]
