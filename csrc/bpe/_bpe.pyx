# cython: language_level=3, boundscheck=False, wraparound=False
# distutils: language=c++
"""Compiled BPE core: thin Cython wrappers over the C++ encoder and trainer (csrc/bpe/*.hpp).

Private: tinygpt.tokenizer validates arguments and owns the policy; every call here that
does real work releases the GIL.
"""

from libc.stdint cimport int64_t, uint16_t, uint32_t, uint64_t
from libcpp cimport bool as cbool
from libcpp.memory cimport unique_ptr
from libcpp.string cimport string
from libcpp.vector cimport vector
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.list cimport PyList_New
from cpython.ref cimport PyObject


cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL
    PyObject* list_get_item "PyList_GET_ITEM"(PyObject* items, Py_ssize_t i) nogil
    void list_set_item "PyList_SET_ITEM"(PyObject* items, Py_ssize_t i, PyObject* value) nogil
    void incref "Py_INCREF"(PyObject* value) nogil


cdef extern from "<string_view>" namespace "std" nogil:
    cdef cppclass string_view:
        string_view()
        string_view(const char*, size_t)
        size_t size()


cdef extern from "fault_injection.hpp" namespace "tinygpt::fault_injection" nogil:
    cdef enum class FaultPoint "tinygpt::fault_injection::Point":
        kThreadStart
    void fail_nth(FaultPoint point, int n)


cdef extern from "pretokenize.hpp" namespace "tgbpe" nogil:
    cdef enum class Splitter:
        kGpt2
        kGpt4
        kWords
        kWhole

    vector[string] split_pieces(Splitter splitter, string_view text, const vector[uint32_t]& no_merge) except +


cdef extern from "encoder.hpp" namespace "tgbpe" nogil:
    cdef enum class UnknownPolicy:
        kError
        kSkip
        kReplace

    cdef cppclass EncodeOptions:
        vector[char] allowed_special
        uint32_t replacement_cp

    cdef cppclass EncodeError:
        cbool failed
        size_t text_index
        size_t byte_offset
        uint32_t cp

    EncodeOptions make_encode_options(UnknownPolicy unknown, uint32_t replacement_cp)

    cdef cppclass CEncoder "tgbpe::Encoder":
        CEncoder(Splitter splitter) except +
        void add_token(uint32_t id, const string& token)
        void add_special(uint32_t id, const string& token)
        void add_decode_only(uint32_t id, const string& token)
        void enable_byte_fallback()
        void add_merge(uint32_t a, uint32_t b, uint32_t rank, uint32_t id)
        void set_byte_id(unsigned byte, uint32_t id)
        void set_char_id(uint32_t cp, uint32_t id)
        void add_no_merge(uint32_t cp)
        void index_whole_tokens()
        void add_bytes_rules(const vector[uint32_t]& targets) except +
        size_t special_count()
        size_t vocab_size()
        void encode(string_view text, const EncodeOptions& options, vector[uint32_t]& out,
                    EncodeError& error) except +
        void encode_many(const vector[string_view]& texts, const EncodeOptions& options,
                         int num_threads, vector[vector[uint32_t]]& outs,
                         EncodeError& error) except +
        cbool decode(const uint32_t* ids, size_t n, string& out, uint32_t& bad_id) except +


cdef extern from "encoder.hpp" namespace "tgbpe" nogil:
    cdef cppclass CStream "tgbpe::Encoder::Stream":
        CStream(const CEncoder& encoder, const EncodeOptions& options) except +
        size_t step(string_view text, cbool final, vector[uint32_t]& out, EncodeError& error) except +


cdef extern from "trainer.hpp" namespace "tgbpe" nogil:
    cdef cppclass CTrainer "tgbpe::Trainer":
        CTrainer(Splitter splitter, cbool words_mode) except +
        void add_special(const string& token)
        void add_no_merge(uint32_t cp)
        void count(const vector[string_view]& texts, int num_threads) except +
        void add_count(const string& piece, int64_t n) except +
        size_t distinct_pieces()
        size_t prepare() except +
        size_t merge(size_t max_merges) except +
        const vector[string]& tokens()
        const vector[uint64_t]& merges()


# The C++ enums' values, for the Python side (which passes them back as ints).
SPLIT_GPT2 = <int>Splitter.kGpt2
SPLIT_GPT4 = <int>Splitter.kGpt4
SPLIT_WORDS = <int>Splitter.kWords
SPLIT_WHOLE = <int>Splitter.kWhole

UNKNOWN_ERROR = <int>UnknownPolicy.kError
UNKNOWN_SKIP = <int>UnknownPolicy.kSkip
UNKNOWN_REPLACE = <int>UnknownPolicy.kReplace


def _fail_nth_thread_start(int n):
    """Test-only: the n-th thread start from now fails (n = 0 disarms); see fault_injection.hpp."""
    fail_nth(FaultPoint.kThreadStart, n)


class UnknownCharacter(ValueError):
    """A words-mode text holds a character outside the alphabet (args: text index, byte offset, code point)."""


def utf8_safe(str text):
    """``text`` itself when it encodes to UTF-8, else with surrogates fixed as tiktoken does.

    Surrogate pairs become their characters, lone surrogates become U+FFFD.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


cdef string_view view_of(object text, list keep) except *:
    """A UTF-8 view of a str; `keep` holds any replacement object alive for the call."""
    cdef Py_ssize_t size = 0
    cdef const char* data
    try:
        data = PyUnicode_AsUTF8AndSize(text, &size)
    except UnicodeEncodeError:
        text = utf8_safe(text)
        keep.append(text)
        data = PyUnicode_AsUTF8AndSize(text, &size)
    return string_view(data, <size_t>size)


cdef vector[string_view] views_of(texts, list keep) except *:
    cdef vector[string_view] views
    views.reserve(len(texts))
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"expected str, got {type(text).__name__}")
        views.push_back(view_of(text, keep))
    return views


def pretokenize(int splitter, str text, no_merge=()):
    """The pieces the compiled pre-tokeniser cuts ``text`` into (UTF-8 bytes each)."""
    cdef list keep = []
    cdef string_view view = view_of(text, keep)
    cdef vector[uint32_t] blocked
    for char in no_merge:
        blocked.push_back(ord(char))
    cdef vector[string] pieces
    with nogil:
        pieces = split_pieces(<Splitter>splitter, view, blocked)
    return [PyBytes_FromStringAndSize(pieces[i].data(), <Py_ssize_t>pieces[i].size())
            for i in range(pieces.size())]


cdef list ids_to_list(const vector[uint32_t]& ids, list int_objects):
    """A list of ids built from shared int objects (``int_objects[i] is i``): no allocation per
    id, which would otherwise cost as much as the encoding itself."""
    cdef Py_ssize_t n = <Py_ssize_t>ids.size()
    cdef size_t known = len(int_objects)
    cdef Py_ssize_t i
    for i in range(n):
        if ids[i] >= known:
            raise ValueError(f"encoder produced id {ids[i]} outside its vocabulary of {known}")
    cdef list out = PyList_New(n)
    cdef PyObject* value
    for i in range(n):
        value = list_get_item(<PyObject*>int_objects, ids[i])
        incref(value)
        list_set_item(<PyObject*>out, i, value)
    return out


ctypedef fused token_id_t:
    uint16_t
    uint32_t


cdef void concatenate(const vector[vector[uint32_t]]& outs, const vector[char]& prepended,
                      int64_t prepend, token_id_t[::1] out) noexcept nogil:
    """outs one after the other into out, ``prepend`` before text i where prepended[i]."""
    cdef size_t i, j, pos = 0
    for i in range(outs.size()):
        if prepended[i]:
            out[pos] = <token_id_t>prepend
            pos += 1
        for j in range(outs[i].size()):
            out[pos] = <token_id_t>outs[i][j]
            pos += 1


cdef object concatenated(const vector[vector[uint32_t]]& outs, const vector[char]& prepended,
                         int64_t prepend, out_factory):
    """The ids of outs in one out_factory(n) array (uint16 or uint32, checked by the caller)."""
    cdef size_t total = 0
    cdef size_t i
    for i in range(outs.size()):
        total += outs[i].size() + (1 if prepended[i] else 0)
    array = out_factory(total)
    cdef uint16_t[::1] out16
    cdef uint32_t[::1] out32
    if array.dtype.itemsize == 2:
        out16 = array
        with nogil:
            concatenate(outs, prepended, prepend, out16)
    else:
        out32 = array
        with nogil:
            concatenate(outs, prepended, prepend, out32)
    return array


cdef raise_unknown(const EncodeError& error):
    raise UnknownCharacter(error.text_index, error.byte_offset, error.cp)


cdef class Encoder:
    """A configured encoder: tokens, merge rules, special tokens and the splitter."""

    cdef unique_ptr[CEncoder] c
    cdef list int_objects

    def __cinit__(self, int splitter):
        self.c.reset(new CEncoder(<Splitter>splitter))
        self.int_objects = []

    cdef list ints(self):
        cdef Py_ssize_t size = <Py_ssize_t>self.c.get().vocab_size()
        if len(self.int_objects) != size:
            self.int_objects = list(range(size))
        return self.int_objects

    def add_token(self, uint32_t token_id, bytes token):
        self.c.get().add_token(token_id, token)

    def add_special(self, uint32_t token_id, bytes token):
        self.c.get().add_special(token_id, token)

    def add_decode_only(self, uint32_t token_id, bytes token):
        self.c.get().add_decode_only(token_id, token)

    def enable_byte_fallback(self):
        self.c.get().enable_byte_fallback()

    def add_merge(self, uint32_t a, uint32_t b, uint32_t rank, uint32_t token_id):
        self.c.get().add_merge(a, b, rank, token_id)

    def set_byte_id(self, unsigned byte, uint32_t token_id):
        self.c.get().set_byte_id(byte, token_id)

    def set_char_id(self, uint32_t cp, uint32_t token_id):
        self.c.get().set_char_id(cp, token_id)

    def add_no_merge(self, uint32_t cp):
        self.c.get().add_no_merge(cp)

    def add_bytes_rules(self, targets):
        cdef vector[uint32_t] ids = targets
        with nogil:
            self.c.get().add_bytes_rules(ids)

    def index_whole_tokens(self):
        self.c.get().index_whole_tokens()

    cdef EncodeOptions options(self, allowed, int unknown, uint32_t replacement_cp):
        cdef EncodeOptions opts = make_encode_options(<UnknownPolicy>unknown, replacement_cp)
        cdef char on
        for flag in allowed:
            on = 1 if flag else 0
            opts.allowed_special.push_back(on)
        on = 0
        while opts.allowed_special.size() < self.c.get().special_count():
            opts.allowed_special.push_back(on)
        return opts

    def encode(self, str text, allowed, int unknown=UNKNOWN_ERROR, uint32_t replacement_cp=0):
        cdef list keep = []
        cdef string_view view = view_of(text, keep)
        cdef EncodeOptions opts = self.options(allowed, unknown, replacement_cp)
        cdef vector[uint32_t] out
        cdef EncodeError error
        with nogil:
            self.c.get().encode(view, opts, out, error)
        if error.failed:
            raise_unknown(error)
        return ids_to_list(out, self.ints())

    def stream(self, chunks, allowed, int unknown, uint32_t replacement_cp, size_t block_bytes, unknown_error,
               cbool utf8_chunks=False):
        """The ids of the text in ``chunks`` as an iterator (see :class:`Stream`)."""
        return Stream(self, chunks, allowed, unknown, replacement_cp, block_bytes, unknown_error, utf8_chunks)

    cdef vector[vector[uint32_t]] encode_views(self, texts, allowed, int unknown,
                                               uint32_t replacement_cp, int num_threads) except *:
        cdef list keep = []
        return self.encode_many(views_of(texts, keep), allowed, unknown, replacement_cp, num_threads)

    cdef vector[vector[uint32_t]] encode_many(self, const vector[string_view]& views, allowed, int unknown,
                                              uint32_t replacement_cp, int num_threads) except *:
        cdef EncodeOptions opts = self.options(allowed, unknown, replacement_cp)
        cdef vector[vector[uint32_t]] outs
        cdef EncodeError error
        with nogil:
            self.c.get().encode_many(views, opts, num_threads, outs, error)
        if error.failed:
            raise_unknown(error)
        return outs

    def encode_batch(self, texts, allowed, int unknown, uint32_t replacement_cp, int num_threads):
        cdef vector[vector[uint32_t]] outs = self.encode_views(
            texts, allowed, unknown, replacement_cp, num_threads)
        cdef list ints = self.ints()
        return [ids_to_list(outs[i], ints) for i in range(outs.size())]

    def encode_into(self, texts, allowed, int unknown, uint32_t replacement_cp, int num_threads,
                    int64_t prepend, out_factory):
        """Concatenated ids (each text preceded by `prepend` when >= 0) in out_factory(n), a
        uint16 or uint32 array the caller has checked is wide enough for the vocabulary."""
        cdef vector[vector[uint32_t]] outs = self.encode_views(
            texts, allowed, unknown, replacement_cp, num_threads)
        cdef char flag = 1 if prepend >= 0 else 0
        cdef vector[char] prepended
        prepended.assign(outs.size(), flag)
        return concatenated(outs, prepended, prepend, out_factory)

    def encode_utf8_into(self, const int64_t[::1] offsets, const unsigned char[::1] data, allowed,
                         int unknown, uint32_t replacement_cp, int num_threads, int64_t prepend,
                         out_factory, int64_t[::1] counts):
        """encode_into over texts laid out as Arrow lays out a string array: text i is
        ``data[offsets[i]:offsets[i + 1]]`` (UTF-8), so no Python object is made per text.
        Empty texts get no ``prepend``; counts[i] receives text i's number of ids."""
        cdef size_t n = offsets.shape[0] - 1 if offsets.shape[0] else 0
        if counts.shape[0] != <Py_ssize_t>n:
            raise ValueError(f"counts holds {counts.shape[0]} slots for {n} texts")
        cdef size_t size = data.shape[0]
        cdef const char* base = <const char*>&data[0] if size else NULL
        cdef vector[string_view] views
        cdef size_t i
        with nogil:
            views.reserve(n)
            for i in range(n):
                if offsets[i] < 0 or offsets[i] > offsets[i + 1] or <size_t>offsets[i + 1] > size:
                    break
                views.push_back(string_view(base + offsets[i], <size_t>(offsets[i + 1] - offsets[i])))
        if views.size() != n:
            raise ValueError(f"offsets[{views.size()}:{views.size() + 2}] do not lie within the {size} bytes of text")
        cdef vector[vector[uint32_t]] outs = self.encode_many(views, allowed, unknown, replacement_cp, num_threads)
        cdef vector[char] prepended
        prepended.assign(n, 0)
        for i in range(n):
            if prepend >= 0 and views[i].size() > 0:
                prepended[i] = 1
            counts[i] = outs[i].size() + prepended[i]
        return concatenated(outs, prepended, prepend, out_factory)

    def decode_bytes(self, const uint32_t[::1] ids):
        """Bytes of the tokens; raises KeyError(id) for an id that is not in the vocabulary."""
        cdef string out
        cdef uint32_t bad_id = 0
        cdef cbool ok
        cdef size_t n = ids.shape[0]
        with nogil:
            ok = self.c.get().decode(&ids[0] if n else NULL, n, out, bad_id)
        if not ok:
            raise KeyError(bad_id)
        return PyBytes_FromStringAndSize(out.data(), <Py_ssize_t>out.size())


cdef object _END = object()


cdef class Stream:
    """The ids of one text arriving in chunks (str), as an iterator: chunks are gathered into
    blocks, each block encoded as far as no continuation can change it, and the ids handed out
    one by one from the block's buffer. The piece cache, the bytes not yet encoded and the ids
    not yet handed out live as long as the stream.

    Gathering, UTF-8 conversion, carrying the unencoded tail and handing out ids are done here
    rather than in Python: for a text arriving line by line they would otherwise cost a fifth
    of the encoding, and flattening per-block lists of ids another tenth.
    """

    cdef unique_ptr[CStream] c
    cdef Encoder encoder  # the stream reads its tables: keep it alive
    cdef object chunks  # the iterator of str chunks
    cdef size_t block_bytes
    cdef object unknown_error  # (stream byte offset, code point) -> the exception to raise
    cdef list ints
    cdef string pending  # UTF-8 of the text received; pending[start:] is not encoded yet
    cdef size_t start
    cdef size_t offset  # stream byte offset of pending[start]
    cdef str surrogate  # a high surrogate ending the last chunk: a low one may start the next
    cdef Py_ssize_t received  # chunks received, for error messages
    cdef size_t held  # pending bytes that the last step left for more text to decide
    cdef cbool utf8_chunks  # chunks are bytes, checked UTF-8 ending on whole characters
    cdef cbool exhausted  # the chunk iterator has ended
    cdef cbool done  # ... and all its text is encoded
    cdef vector[uint32_t] ids  # ids of the last block
    cdef size_t position  # the next of them to hand out

    def __cinit__(self, Encoder encoder, chunks, allowed, int unknown, uint32_t replacement_cp,
                  size_t block_bytes, unknown_error, cbool utf8_chunks):
        self.encoder = encoder
        self.utf8_chunks = utf8_chunks
        self.c.reset(new CStream(encoder.c.get()[0], encoder.options(allowed, unknown, replacement_cp)))
        self.chunks = iter(chunks)
        self.block_bytes = max(block_bytes, <size_t>1)
        self.unknown_error = unknown_error
        self.ints = encoder.ints()
        self.start = 0
        self.offset = 0
        self.surrogate = ""
        self.received = 0
        self.held = 0
        self.exhausted = False
        self.done = False
        self.position = 0

    def __iter__(self):
        return self

    def __next__(self):
        while self.position == self.ids.size():
            if self.done:
                raise StopIteration
            self.encode_block()
        cdef PyObject* value = list_get_item(<PyObject*>self.ints, self.ids[self.position])
        self.position += 1
        return <object>value

    cdef int encode_block(self) except -1:
        """Gathers chunks until a block of new text is pending (or they end) and encodes as
        much of it as no continuation can change, about a block per step: the ids of a small
        block stay in the CPU's cache, and one step over megabytes is slower."""
        if self.pending.size() - self.start < self.held + self.block_bytes and not self.exhausted:
            self.pending.erase(0, self.start)  # what is left is short: a small move
            self.start = 0
            while self.pending.size() < self.held + self.block_bytes and not self.exhausted:
                chunk = next(self.chunks, _END)
                if chunk is _END:
                    self.exhausted = True
                    if self.surrogate:  # a lone high surrogate ends the text, as in encode
                        self.append_text(utf8_safe(self.surrogate))
                else:
                    self.append(chunk)
        cdef size_t left = self.pending.size() - self.start
        cdef size_t size = left
        if size >= self.held + 2 * self.block_bytes:  # a prefix, cut on a character
            size = self.held + self.block_bytes
            while size > 0 and (<unsigned char>self.pending[self.start + size] & 0xC0) == 0x80:
                size -= 1
        self.ids.clear()
        self.position = 0
        cdef size_t consumed = self.step(size, self.exhausted and size == left)
        if consumed == 0 and size < left:  # a piece longer than the prefix
            size = left
            consumed = self.step(size, self.exhausted)
        self.start += consumed
        self.offset += consumed
        # After a step over all of it, what is left waits for more text; after a prefix, the
        # rest may be encodable as it is.
        self.held = left - consumed if size == left else 0
        self.done = self.exhausted and consumed == left
        return 0

    cdef size_t step(self, size_t size, cbool final) except? 0:
        cdef string_view view = string_view(self.pending.data() + self.start, size)
        cdef EncodeError error
        cdef size_t consumed
        cdef size_t known = len(self.ints)
        cdef size_t i
        with nogil:
            consumed = self.c.get().step(view, final, self.ids, error)
        if error.failed:
            raise self.unknown_error(self.offset + error.byte_offset, error.cp)
        for i in range(self.ids.size()):
            if self.ids[i] >= known:
                raise ValueError(f"encoder produced id {self.ids[i]} outside its vocabulary of {known}")
        return consumed

    cdef int append(self, chunk) except -1:
        """Appends a chunk's UTF-8; surrogates are joined or replaced as ``encode`` would on the
        whole text, where a pair may span two chunks."""
        if self.utf8_chunks and isinstance(chunk, bytes):  # a file's blocks: no str made
            self.received += 1
            self.pending.append(<const char*>chunk, <size_t>len(<bytes>chunk))
            return 0
        if not isinstance(chunk, str):
            raise TypeError(f"chunk {self.received} is {type(chunk).__name__}, expected str")
        self.received += 1
        cdef Py_ssize_t size = 0
        cdef const char* data
        if not self.surrogate:
            try:
                data = PyUnicode_AsUTF8AndSize(chunk, &size)
                self.pending.append(data, <size_t>size)
                return 0
            except UnicodeEncodeError:
                pass
        cdef str text = self.surrogate + chunk
        cdef Py_ssize_t last = len(text) - 1  # (no negative indexes: wraparound is off)
        self.surrogate = ""
        if last >= 0 and 0xD800 <= ord(text[last]) <= 0xDBFF:
            self.surrogate = text[last]
            text = text[:last]
        self.append_text(utf8_safe(text))
        return 0

    cdef int append_text(self, str text) except -1:
        cdef bytes data = text.encode("utf-8")
        self.pending.append(<const char*>data, <size_t>len(data))
        return 0


cdef class Trainer:
    """Counts pre-tokens over a stream of batches, then merges incrementally."""

    cdef unique_ptr[CTrainer] c

    def __cinit__(self, int splitter, cbool words_mode):
        self.c.reset(new CTrainer(<Splitter>splitter, words_mode))

    def add_special(self, bytes token):
        self.c.get().add_special(token)

    def add_no_merge(self, uint32_t cp):
        self.c.get().add_no_merge(cp)

    def count(self, texts, int num_threads):
        cdef list keep = []
        cdef vector[string_view] views = views_of(texts, keep)
        with nogil:
            self.c.get().count(views, num_threads)

    def add_count(self, bytes piece, int64_t n):
        self.c.get().add_count(piece, n)

    def distinct_pieces(self):
        return self.c.get().distinct_pieces()

    def prepare(self):
        cdef size_t base
        with nogil:
            base = self.c.get().prepare()
        return base

    def merge(self, size_t max_merges):
        cdef size_t done
        with nogil:
            done = self.c.get().merge(max_merges)
        return done

    def tokens(self):
        cdef const vector[string]* toks = &self.c.get().tokens()
        return [PyBytes_FromStringAndSize(toks[0][i].data(), <Py_ssize_t>toks[0][i].size())
                for i in range(toks[0].size())]

    def merges(self):
        cdef const vector[uint64_t]* ms = &self.c.get().merges()
        return [(<uint32_t>(ms[0][i] >> 32), <uint32_t>(ms[0][i] & 0xFFFFFFFFu))
                for i in range(ms[0].size())]
