/*
 * The compiled parts of log ingestion: what Python spent most of its time on per line
 * stored. Each function has a Python reference that defines what it computes and runs
 * where this module is not built; the tests compare the two on arbitrary input
 * (monitoring/tests/test_compiled_ingest.py). docs/architecture.md §6, "Ingestion
 * throughput".
 *
 *   block_keys(messages)      monitoring/logsearch/keys.py `block_keys_reference`: the
 *                             sorted keys a block of log lines is found by.
 *   encode_lines(...)         monitoring/store/loglines.py `lines_of_reference`: log lines as
 *                             binary COPY tuples.
 *   encode_blocks(...)        monitoring/store/loglines.py `blocks_of` + `blocks_write`: the
 *                             lines' search blocks as binary COPY tuples.
 *   event_lines(...)          monitoring/parsing/lambda_logs.py `event_lines_reference`: the
 *                             log lines of CloudWatch Logs events, the parser's first pass.
 *
 * Block keys. A word is a run of bytes that are ASCII letters or digits, or any byte
 * >= 0x80 (UTF-8 never splits a character so). Its key, lowered (ASCII letters only):
 *   - a word of one byte has none;
 *   - without an ASCII digit: its first WORD_MAX bytes;
 *   - with one: its first NUMBER_KEY bytes when they are all digits, else its first
 *     DIGIT_KEY bytes;
 * where "first N bytes" of a longer word means those bytes decoded as UTF-8 with the
 * invalid and cut characters dropped (Python's decode(errors="ignore")). Each camelCase
 * tail of a word (from an upper-case ASCII letter that follows a lower-case one, to its
 * end) has a key by the same rule. Keys are de-duplicated in an open-addressing hash set
 * with no object per word, and the GIL is released meanwhile, so another thread (the parse
 * of the next batch) runs on the other core.
 *
 * Log lines. encode_lines(groups, event_ids, head, stream_field, storable) -> (ms, messages,
 * ids, tuples). `groups`: a list of (invocation part, lines): the encoded invocation id and
 * request id the lines share, and their LogLine objects. For each line with an event id
 * (from `event_ids`, a dict id(line) -> event id, when it has one, else its own):
 *   - its tuple: head (what every line of the call shares), the invocation part,
 *     stream_field(log stream) (cached per stream), the time as
 *     PostgreSQL's microseconds since 2000, the event id (its first 64 characters) and the
 *     message as stored;
 *   - the message as stored: the text's UTF-8 when it is ASCII without NUL, else
 *     storable(message) (NUL removed, a lone surrogate replaced).
 * Lines without an event id are left out. Errors (a surrogate in an event id, a time out of
 * range, a value of the wrong type) raise as the Python version does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WORD_MAX 100
#define DIGIT_KEY 3
#define NUMBER_KEY 4

typedef struct {
    uint32_t offset; /* in the arena */
    uint32_t len;    /* 0: a free slot; else the key's length + 1 */
    uint32_t hash;
} Slot;

typedef struct {
    Slot *slots;
    size_t capacity; /* a power of two */
    size_t count;
    char *arena;
    size_t arena_len;
    size_t arena_cap;
    int failed; /* out of memory */
} KeySet;

/* Python's own hash of bytes: keyed by the process's random secret (SipHash), so log lines
 * cannot be crafted to collide in the set (a pure computation: safe without the GIL). */
static uint32_t hash_bytes(const unsigned char *s, size_t n) {
#if PY_VERSION_HEX >= 0x030E0000
    return (uint32_t)Py_HashBuffer(s, (Py_ssize_t)n);
#else
    return (uint32_t)_Py_HashBytes(s, (Py_ssize_t)n);
#endif
}

static int keyset_init(KeySet *set, size_t capacity) {
    memset(set, 0, sizeof(*set));
    set->capacity = capacity;
    set->slots = calloc(capacity, sizeof(Slot));
    set->arena_cap = 4096;
    set->arena = malloc(set->arena_cap);
    if (set->slots == NULL || set->arena == NULL) {
        free(set->slots);
        free(set->arena);
        return -1;
    }
    return 0;
}

static void keyset_free(KeySet *set) {
    free(set->slots);
    free(set->arena);
}

static int keyset_grow(KeySet *set) {
    size_t capacity = set->capacity * 2;
    Slot *slots = calloc(capacity, sizeof(Slot));
    if (slots == NULL) return -1;
    for (size_t i = 0; i < set->capacity; i++) {
        Slot *old = &set->slots[i];
        if (!old->len) continue;
        size_t j = old->hash & (capacity - 1);
        while (slots[j].len) j = (j + 1) & (capacity - 1);
        slots[j] = *old;
    }
    free(set->slots);
    set->slots = slots;
    set->capacity = capacity;
    return 0;
}

static void keyset_add(KeySet *set, const unsigned char *key, size_t len) {
    if (set->failed) return;
    uint32_t h = hash_bytes(key, len);
    size_t j = h & (set->capacity - 1);
    while (set->slots[j].len) {
        Slot *s = &set->slots[j];
        if (s->hash == h && s->len == len + 1 && memcmp(set->arena + s->offset, key, len) == 0) return;
        j = (j + 1) & (set->capacity - 1);
    }
    if (set->arena_len + len > UINT32_MAX) {
        set->failed = 1; /* a block holds at most BLOCK_BYTES of text: never */
        return;
    }
    if (set->arena_len + len > set->arena_cap) {
        size_t cap = set->arena_cap * 2;
        while (cap < set->arena_len + len) cap *= 2;
        char *arena = realloc(set->arena, cap);
        if (arena == NULL) {
            set->failed = 1;
            return;
        }
        set->arena = arena;
        set->arena_cap = cap;
    }
    memcpy(set->arena + set->arena_len, key, len);
    set->slots[j].offset = (uint32_t)set->arena_len;
    set->slots[j].len = (uint32_t)len + 1;
    set->slots[j].hash = h;
    set->arena_len += len;
    set->count++;
    if (set->count * 2 > set->capacity && keyset_grow(set) < 0) set->failed = 1;
}

/* The first `size` bytes of s[0:n] as Python's `s[:size].decode("utf-8", "ignore").encode()`:
 * the well-formed characters, in order, without the others. Writes to `out`, returns its
 * length. */
static size_t utf8_ignore(const unsigned char *s, size_t n, unsigned char *out) {
    size_t i = 0, o = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            out[o++] = c;
            i++;
            continue;
        }
        size_t len;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c == 0xE0) { len = 3; lo = 0xA0; }
        else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) len = 3;
        else if (c == 0xED) { len = 3; hi = 0x9F; }
        else if (c == 0xF0) { len = 4; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) len = 4;
        else if (c == 0xF4) { len = 4; hi = 0x8F; }
        else { i++; continue; } /* never a first byte */
        int ok = i + len <= n && s[i + 1] >= lo && s[i + 1] <= hi;
        for (size_t k = 2; ok && k < len; k++) ok = s[i + k] >= 0x80 && s[i + k] <= 0xBF;
        if (!ok) {
            /* A byte that cannot continue a character can never start one either, so
               dropping one byte at a time drops what Python's decoder drops. */
            i++;
            continue;
        }
        memcpy(out + o, s + i, len);
        o += len;
        i += len;
    }
    return o;
}

/* Add the key of the lowered word w[0:n] (n >= 2), which holds an ASCII digit when `digit`
 * and only ASCII when `ascii`. Reads at most WORD_MAX bytes of it. */
static void add_key(KeySet *set, const unsigned char *w, size_t n, int digit, int ascii) {
    size_t size = WORD_MAX;
    if (digit) {
        size_t head = n < NUMBER_KEY ? n : NUMBER_KEY;
        int number = 1;
        for (size_t i = 0; i < head; i++) number &= w[i] >= '0' && w[i] <= '9';
        if (number) {
            keyset_add(set, w, head);
            return;
        }
        size = DIGIT_KEY;
    }
    if (n <= size || ascii) {
        keyset_add(set, w, n <= size ? n : size);
        return;
    }
    unsigned char cut[WORD_MAX];
    keyset_add(set, cut, utf8_ignore(w, size, cut));
}

/* For each byte: 0 for a separator, else the byte lowered (ASCII letters only). */
static unsigned char word_lower[256];

static void tables_init(void) {
    for (int c = 0; c < 256; c++)
        word_lower[c] = (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) ? (unsigned char)c
                        : (c >= 'A' && c <= 'Z')                                         ? (unsigned char)(c + 32)
                                                                                         : 0;
}

/* Every key of one message's words, and of their camelCase tails. `lower` holds at least
 * n bytes. */
static void message_keys(KeySet *set, const unsigned char *s, size_t n, unsigned char *lower) {
    size_t i = 0;
    while (i < n) {
        while (i < n && !word_lower[s[i]]) i++;
        size_t start = i;
        for (unsigned char c; i < n && (c = word_lower[s[i]]); i++) lower[i] = c;
        size_t len = i - start;
        if (len < 2) continue;
        const unsigned char *w = s + start;
        unsigned char *lw = lower + start;
        /* Where the word's last digit and last non-ASCII byte are: what each tail holds is
           known without reading it again (a word of many tails costs its length, not its
           square). */
        size_t last_digit = SIZE_MAX, last_high = SIZE_MAX;
        for (size_t k = 0; k < len; k++) {
            if (lw[k] >= '0' && lw[k] <= '9') last_digit = k;
            else if (lw[k] >= 0x80) last_high = k;
        }
        add_key(set, lw, len, last_digit != SIZE_MAX, last_high == SIZE_MAX);
        for (size_t k = 1; k + 1 < len; k++) /* a tail of one byte has no key */
            if (w[k - 1] >= 'a' && w[k - 1] <= 'z' && w[k] >= 'A' && w[k] <= 'Z')
                add_key(set, lw + k, len - k, last_digit != SIZE_MAX && last_digit >= k,
                        last_high == SIZE_MAX || last_high < k);
    }
}

typedef struct {
    uint64_t head; /* the first 8 bytes, big-endian, zero-padded: most comparisons end here */
    const char *data;
    size_t len;
} Key;

static int key_compare(const void *a, const void *b) {
    const Key *x = a, *y = b;
    if (x->head != y->head) return x->head < y->head ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->data, y->data, n);
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* The keys of `set`, sorted as Python sorts bytes (a malloc'ed array, NULL when out of
 * memory). */
static Key *keys_sorted(const KeySet *set, size_t *count) {
    Key *keys = malloc((set->count ? set->count : 1) * sizeof(Key));
    if (keys == NULL) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < set->capacity; i++)
        if (set->slots[i].len) {
            const unsigned char *data = (const unsigned char *)set->arena + set->slots[i].offset;
            size_t len = set->slots[i].len - 1;
            uint64_t head = 0;
            for (size_t b = 0; b < 8; b++) head = (head << 8) | (b < len ? data[b] : 0);
            keys[k++] = (Key){head, (const char *)data, len};
        }
    qsort(keys, k, sizeof(Key), key_compare);
    *count = k;
    return keys;
}

static void keyset_clear(KeySet *set) {
    memset(set->slots, 0, set->capacity * sizeof(Slot));
    set->count = 0;
    set->arena_len = 0;
}

static PyObject *block_keys(PyObject *self, PyObject *messages) {
    (void)self;
    /* A tuple: no other thread can change it while the GIL is released below. */
    PyObject *seq = PySequence_Tuple(messages);
    if (seq == NULL) return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(seq);
    PyObject **items = ((PyTupleObject *)seq)->ob_item;
    size_t longest = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!PyBytes_Check(items[i])) {
            Py_DECREF(seq);
            return PyErr_Format(PyExc_TypeError, "block_keys takes bytes, not %.100s", Py_TYPE(items[i])->tp_name);
        }
        size_t len = (size_t)PyBytes_GET_SIZE(items[i]);
        if (len > longest) longest = len;
    }
    size_t capacity = 4096; /* grows: most words of a block share their keys */
    KeySet set;
    unsigned char *lower = malloc(longest ? longest : 1);
    if (lower == NULL || keyset_init(&set, capacity) < 0) {
        free(lower);
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    /* `seq` keeps the bytes alive, and bytes never change: the GIL is not needed. */
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count && !set.failed; i++)
        message_keys(&set, (const unsigned char *)PyBytes_AS_STRING(items[i]), (size_t)PyBytes_GET_SIZE(items[i]),
                     lower);
    Py_END_ALLOW_THREADS
    free(lower);
    Py_DECREF(seq);
    if (set.failed) {
        keyset_free(&set);
        return PyErr_NoMemory();
    }
    PyObject *out = NULL;
    size_t count_keys;
    Key *keys = keys_sorted(&set, &count_keys);
    if (keys == NULL) {
        keyset_free(&set);
        return PyErr_NoMemory();
    }
    out = PyList_New((Py_ssize_t)count_keys);
    for (size_t i = 0; out != NULL && i < count_keys; i++) {
        PyObject *key = PyBytes_FromStringAndSize(keys[i].data, (Py_ssize_t)keys[i].len);
        if (key == NULL) Py_CLEAR(out);
        else PyList_SET_ITEM(out, (Py_ssize_t)i, key);
    }
    free(keys);
    keyset_free(&set);
    return out;
}

#define PG_EPOCH_MS 946684800000LL
#define EVENT_ID_MAX 64

static PyObject *str_timestamp_ms, *str_message, *str_log_stream, *str_event_id;

static void put_be32(char *p, uint32_t v) {
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}

static void put_be64(char *p, uint64_t v) {
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

/* The message as stored, as bytes (a new reference). */
static PyObject *stored_message(PyObject *message, PyObject *storable) {
    if (PyUnicode_Check(message) && PyUnicode_IS_ASCII(message)) {
        const char *data = (const char *)PyUnicode_DATA(message);
        Py_ssize_t len = PyUnicode_GET_LENGTH(message);
        if (memchr(data, 0, (size_t)len) == NULL) return PyBytes_FromStringAndSize(data, len);
    }
    PyObject *out = PyObject_CallOneArg(storable, message);
    if (out != NULL && !PyBytes_Check(out)) {
        Py_DECREF(out);
        PyErr_SetString(PyExc_TypeError, "storable() must return bytes");
        return NULL;
    }
    return out;
}

/* Encode one line, appending to the four lists. 0 on success, -1 on error. `fields` caches
 * stream_field(log stream) per stream (lines of one stream share it). */
static int encode_line(PyObject *line, PyObject *head, PyObject *part, PyObject *event_ids, PyObject *fields,
                       PyObject *stream_field, PyObject *storable, PyObject *lists[4]) {
    PyObject *eid = NULL, *stream = NULL, *field = NULL, *message = NULL, *data = NULL, *ms = NULL, *tuple = NULL;
    int rc = -1;
    if (event_ids != NULL) {
        PyObject *id = PyLong_FromVoidPtr(line);
        if (id == NULL) return -1;
        eid = PyDict_GetItemWithError(event_ids, id); /* borrowed */
        Py_DECREF(id);
        if (eid == NULL && PyErr_Occurred()) return -1;
        Py_XINCREF(eid);
        if (eid != NULL && PyObject_IsTrue(eid) != 1) Py_CLEAR(eid); /* `event_ids.get(…) or line.event_id` */
        if (PyErr_Occurred()) goto done;
    }
    if (eid == NULL && (eid = PyObject_GetAttr(line, str_event_id)) == NULL) goto done;
    int present = PyObject_IsTrue(eid);
    if (present < 0) goto done;
    if (!present) {
        rc = 0;
        goto done;
    }
    if (!PyUnicode_Check(eid)) {
        PyErr_Format(PyExc_TypeError, "an event id must be str, not %.100s", Py_TYPE(eid)->tp_name);
        goto done;
    }
    if (PyUnicode_GET_LENGTH(eid) > EVENT_ID_MAX) {
        PyObject *cut = PyUnicode_Substring(eid, 0, EVENT_ID_MAX);
        if (cut == NULL) goto done;
        Py_SETREF(eid, cut);
    }
    Py_ssize_t eid_len;
    const char *eid_data = PyUnicode_AsUTF8AndSize(eid, &eid_len);
    if (eid_data == NULL) goto done;

    if ((stream = PyObject_GetAttr(line, str_log_stream)) == NULL) goto done;
    field = PyDict_GetItemWithError(fields, stream);
    if (field != NULL) Py_INCREF(field);
    else if (PyErr_Occurred()) goto done;
    else {
        if ((field = PyObject_CallOneArg(stream_field, stream)) == NULL) goto done;
        if (!PyBytes_Check(field)) {
            PyErr_SetString(PyExc_TypeError, "stream_field() must return bytes");
            goto done;
        }
        if (PyDict_SetItem(fields, stream, field) < 0) goto done;
    }

    if ((message = PyObject_GetAttr(line, str_message)) == NULL) goto done;
    if ((data = stored_message(message, storable)) == NULL) goto done;
    if ((ms = PyObject_GetAttr(line, str_timestamp_ms)) == NULL) goto done;
    long long ms_value = PyLong_AsLongLong(ms);
    if (ms_value == -1 && PyErr_Occurred()) goto done;
    long long micros;
    if (__builtin_sub_overflow(ms_value, PG_EPOCH_MS, &micros) || __builtin_mul_overflow(micros, 1000LL, &micros)) {
        PyErr_SetString(PyExc_OverflowError, "a log line's time is out of range");
        goto done;
    }
    Py_ssize_t head_len = PyBytes_GET_SIZE(head), part_len = PyBytes_GET_SIZE(part),
               field_len = PyBytes_GET_SIZE(field), data_len = PyBytes_GET_SIZE(data);
    if (data_len > INT32_MAX || eid_len > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "a log line is too long");
        goto done;
    }
    tuple = PyBytes_FromStringAndSize(NULL, head_len + part_len + field_len + 4 + 8 + 4 + eid_len + 4 + data_len);
    if (tuple == NULL) goto done;
    char *p = PyBytes_AS_STRING(tuple);
    memcpy(p, PyBytes_AS_STRING(head), (size_t)head_len);
    p += head_len;
    memcpy(p, PyBytes_AS_STRING(part), (size_t)part_len);
    p += part_len;
    memcpy(p, PyBytes_AS_STRING(field), (size_t)field_len);
    p += field_len;
    put_be32(p, 8);
    put_be64(p + 4, (uint64_t)micros);
    put_be32(p + 12, (uint32_t)eid_len);
    p += 16;
    memcpy(p, eid_data, (size_t)eid_len);
    p += eid_len;
    put_be32(p, (uint32_t)data_len);
    memcpy(p + 4, PyBytes_AS_STRING(data), (size_t)data_len);

    if (PyList_Append(lists[0], ms) < 0 || PyList_Append(lists[1], data) < 0 || PyList_Append(lists[2], eid) < 0 ||
        PyList_Append(lists[3], tuple) < 0)
        goto done;
    rc = 0;
done:
    Py_XDECREF(eid);
    Py_XDECREF(stream);
    Py_XDECREF(field);
    Py_XDECREF(message);
    Py_XDECREF(data);
    Py_XDECREF(ms);
    Py_XDECREF(tuple);
    return rc;
}

static PyObject *encode_lines(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *groups, *event_ids, *head, *stream_field, *storable;
    if (!PyArg_ParseTuple(args, "O!OO!OO:encode_lines", &PyList_Type, &groups, &event_ids, &PyBytes_Type, &head,
                          &stream_field, &storable))
        return NULL;
    if (event_ids == Py_None || (PyDict_Check(event_ids) && PyDict_GET_SIZE(event_ids) == 0)) event_ids = NULL;
    else if (!PyDict_Check(event_ids)) return PyErr_Format(PyExc_TypeError, "event_ids must be a dict or None");
    PyObject *lists[4] = {PyList_New(0), PyList_New(0), PyList_New(0), PyList_New(0)};
    PyObject *fields = PyDict_New();
    /* Tuples of our own: the Python code a line runs (its attributes, stream_field, storable)
       cannot free a group, a part or a line under us by changing the caller's lists. */
    PyObject *all = PySequence_Tuple(groups);
    PyObject *out = NULL;
    Py_INCREF(head);
    if (!lists[0] || !lists[1] || !lists[2] || !lists[3] || !fields || !all) goto done;
    for (Py_ssize_t g = 0; g < PyTuple_GET_SIZE(all); g++) {
        PyObject *group = PyTuple_GET_ITEM(all, g);
        if (!PyTuple_Check(group) || PyTuple_GET_SIZE(group) != 2 || !PyBytes_Check(PyTuple_GET_ITEM(group, 0))) {
            PyErr_SetString(PyExc_TypeError, "each group must be a (bytes, lines) tuple");
            goto done;
        }
        PyObject *part = PyTuple_GET_ITEM(group, 0);
        PyObject *lines = PySequence_Tuple(PyTuple_GET_ITEM(group, 1));
        if (lines == NULL) goto done;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(lines); i++) {
            if (encode_line(PyTuple_GET_ITEM(lines, i), head, part, event_ids, fields, stream_field, storable, lists) <
                0) {
                Py_DECREF(lines);
                goto done;
            }
        }
        Py_DECREF(lines);
    }
    out = PyTuple_Pack(4, lists[0], lists[1], lists[2], lists[3]);
done:
    for (int i = 0; i < 4; i++) Py_XDECREF(lists[i]);
    Py_XDECREF(fields);
    Py_XDECREF(all);
    Py_DECREF(head);
    return out;
}

/* ---- blocks: encode_blocks ----------------------------------------------------------- */

#define DAY_MS 86400000LL
#define KEYS_MAX 1000000        /* keys.py KEYS_MAX */
static const char UNINDEXED[] = "_unindexed_"; /* keys.py UNINDEXED */

typedef struct {
    long long ms;
    Py_ssize_t index;
} Row;

static int row_compare(const void *a, const void *b) {
    const Row *x = a, *y = b;
    if (x->ms != y->ms) return x->ms < y->ms ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index); /* as Python's stable sort */
}

static long long floor_div(long long a, long long b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} Buffer;

static char *buffer_grow(Buffer *b, size_t more) {
    if (b->failed) return NULL;
    if (b->len + more > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + more) cap *= 2;
        char *data = realloc(b->data, cap);
        if (data == NULL) {
            b->failed = 1;
            return NULL;
        }
        b->data = data;
        b->cap = cap;
    }
    char *at = b->data + b->len;
    b->len += more;
    return at;
}

static void put_be16(char *p, uint16_t v) {
    p[0] = (char)(v >> 8);
    p[1] = (char)v;
}

static int micros_of(long long ms, long long *out) {
    return !__builtin_sub_overflow(ms, PG_EPOCH_MS, out) && !__builtin_mul_overflow(*out, 1000LL, out);
}

/* One block's COPY tuple: rows[begin:end] (sorted) of `messages`. 0, or -1 when out of
 * memory or a time out of range (`*range_error` set). */
static int block_tuple(Buffer *out, KeySet *set, unsigned char *lower, const Row *rows, size_t begin, size_t end,
                       PyObject **messages, long long account_id, long long resource_id, int *range_error) {
    keyset_clear(set);
    for (size_t i = begin; i < end && !set->failed; i++) {
        PyObject *m = messages[rows[i].index];
        message_keys(set, (const unsigned char *)PyBytes_AS_STRING(m), (size_t)PyBytes_GET_SIZE(m), lower);
    }
    if (set->failed) return -1;
    size_t count;
    Key *keys = keys_sorted(set, &count);
    if (keys == NULL) return -1;
    /* Keys beyond what a tsvector holds (keys.py KEYS_MAX): the block is marked instead, and
     * every keyed search reads it. */
    size_t key_bytes = 0;
    for (size_t i = 0; i < count; i++) key_bytes += keys[i].len;
    int unindexed = key_bytes > KEYS_MAX;
    size_t tsv_len = unindexed ? 4 + (sizeof(UNINDEXED) - 1) + 3 : 4 + key_bytes + 3 * count;
    long long first, last;
    if (!micros_of(rows[begin].ms, &first) || !micros_of(rows[end - 1].ms, &last) || tsv_len > INT32_MAX) {
        free(keys);
        *range_error = 1;
        return -1;
    }
    char *p = buffer_grow(out, 2 + 4 * 12 + 8 + 4 + tsv_len); /* tsv_len counts the lexeme count */
    if (p == NULL) {
        free(keys);
        return -1;
    }
    put_be16(p, 6); /* BLOCK_COLUMNS: account_id, resource_id, ts_min, ts_max, lines, keys */
    p += 2;
    long long values[4] = {account_id, resource_id, first, last};
    for (int v = 0; v < 4; v++) {
        put_be32(p, 8);
        put_be64(p + 4, (uint64_t)values[v]);
        p += 12;
    }
    put_be32(p, 4);
    put_be32(p + 4, (uint32_t)(end - begin));
    put_be32(p + 8, (uint32_t)tsv_len);
    put_be32(p + 12, unindexed ? 1 : (uint32_t)count); /* tsvector: the number of lexemes, then each NUL-ended, no positions */
    p += 16;
    if (unindexed) {
        memcpy(p, UNINDEXED, sizeof(UNINDEXED) - 1);
        p += sizeof(UNINDEXED) - 1;
        p[0] = p[1] = p[2] = 0;
    }
    for (size_t i = 0; !unindexed && i < count; i++) {
        memcpy(p, keys[i].data, keys[i].len);
        p += keys[i].len;
        p[0] = p[1] = p[2] = 0;
        p += 3;
    }
    free(keys);
    return 0;
}

/* encode_blocks(ms, messages, account_id, resource_id, block_lines, block_bytes)
 *     -> (COPY tuples of every block, number of blocks, the days (ms // DAY_MS) they start on)
 * The same blocks as `blocks_of` (per UTC day, in time order, at most `block_lines` lines or
 * `block_bytes` of text each) with the same keys, encoded as `blocks_write` does. */
static PyObject *encode_blocks(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ms_arg, *messages_arg;
    long long account_id, resource_id;
    Py_ssize_t block_lines, block_bytes;
    if (!PyArg_ParseTuple(args, "OOLLnn:encode_blocks", &ms_arg, &messages_arg, &account_id, &resource_id,
                          &block_lines, &block_bytes))
        return NULL;
    if (block_lines < 1 || block_bytes < 1) return PyErr_Format(PyExc_ValueError, "block limits must be positive");
    PyObject *messages = PySequence_Tuple(messages_arg); /* immutable while the GIL is released */
    PyObject *ms = messages ? PySequence_Tuple(ms_arg) : NULL; /* an int's __index__ cannot shrink it */
    Row *rows = NULL;
    unsigned char *lower = NULL;
    PyObject *result = NULL, *days = NULL;
    KeySet set;
    int set_ready = 0;
    Buffer out = {NULL, 0, 0, 0};
    if (ms == NULL) goto done;
    Py_ssize_t n = PyTuple_GET_SIZE(messages);
    if (PyTuple_GET_SIZE(ms) != n) {
        PyErr_SetString(PyExc_ValueError, "ms and messages differ in length");
        goto done;
    }
    rows = malloc((n ? (size_t)n : 1) * sizeof(Row));
    if (rows == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    size_t longest = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *m = PyTuple_GET_ITEM(messages, i);
        if (!PyBytes_Check(m)) {
            PyErr_Format(PyExc_TypeError, "messages must be bytes, not %.100s", Py_TYPE(m)->tp_name);
            goto done;
        }
        if ((size_t)PyBytes_GET_SIZE(m) > longest) longest = (size_t)PyBytes_GET_SIZE(m);
        rows[i].ms = PyLong_AsLongLong(PyTuple_GET_ITEM(ms, i));
        if (rows[i].ms == -1 && PyErr_Occurred()) goto done;
        rows[i].index = i;
    }
    if ((lower = malloc(longest)) == NULL || keyset_init(&set, 4096) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    set_ready = 1;
    if ((days = PyList_New(0)) == NULL) goto done;
    PyObject **items = ((PyTupleObject *)messages)->ob_item;
    size_t blocks = 0;
    int failed = 0, range_error = 0;
    Py_BEGIN_ALLOW_THREADS
    qsort(rows, (size_t)n, sizeof(Row), row_compare);
    size_t day_start = 0;
    while (day_start < (size_t)n && !failed) {
        long long day = floor_div(rows[day_start].ms, DAY_MS);
        size_t day_end = day_start;
        while (day_end < (size_t)n && floor_div(rows[day_end].ms, DAY_MS) == day) day_end++;
        for (size_t chunk = day_start; chunk < day_end && !failed; chunk += (size_t)block_lines) {
            size_t chunk_end = chunk + (size_t)block_lines < day_end ? chunk + (size_t)block_lines : day_end;
            size_t begin = chunk, size = 0;
            for (size_t i = chunk; i < chunk_end && !failed; i++) {
                size_t len = (size_t)PyBytes_GET_SIZE(items[rows[i].index]);
                if (i > begin && size + len > (size_t)block_bytes) { /* long lines: cut by size too */
                    failed = block_tuple(&out, &set, lower, rows, begin, i, items, account_id, resource_id,
                                         &range_error) < 0;
                    blocks++;
                    begin = i;
                    size = 0;
                }
                size += len;
            }
            if (!failed) {
                failed = block_tuple(&out, &set, lower, rows, begin, chunk_end, items, account_id, resource_id,
                                     &range_error) < 0;
                blocks++;
            }
        }
        day_start = day_end;
    }
    Py_END_ALLOW_THREADS
    if (failed) {
        if (range_error) PyErr_SetString(PyExc_OverflowError, "a log line's time is out of range");
        else PyErr_NoMemory();
        goto done;
    }
    /* The days blocks start on, in order, once each. */
    long long previous = 0;
    for (size_t i = 0, first = 1; i < (size_t)n; i++) {
        long long day = floor_div(rows[i].ms, DAY_MS);
        if (first || day != previous) {
            PyObject *d = PyLong_FromLongLong(day);
            if (d == NULL || PyList_Append(days, d) < 0) {
                Py_XDECREF(d);
                goto done;
            }
            Py_DECREF(d);
            previous = day;
            first = 0;
        }
    }
    PyObject *payload = PyBytes_FromStringAndSize(out.data ? out.data : "", (Py_ssize_t)out.len);
    if (payload != NULL) {
        result = Py_BuildValue("(NnO)", payload, (Py_ssize_t)blocks, days);
    }
done:
    Py_XDECREF(messages);
    Py_XDECREF(ms);
    Py_XDECREF(days);
    free(rows);
    free(lower);
    free(out.data);
    if (set_ready) keyset_free(&set);
    return result;
}

/* ---- events: event_lines --------------------------------------------------------------
 * event_lines(events, line_type, seen, slow) -> (lines, skipped). An event that is an exact
 * dict whose keys are all exact str (as every JSON decoder builds), whose "timestamp" is an
 * int, "message" a str, "eventId" (or, when that is missing, None or "", "id") a str or
 * missing or None, is handled here as `event_line` does: the time in range, the message
 * without its trailing newlines, the stream ("" unless a str), the event id (None unless a
 * str; an id in `seen` is a repeat: left out, not counted). Any other event, and every
 * event when `seen` is not an exact set, goes to
 * slow(event) (`event_line`, with the same `seen`): a line, None (skipped: counted) or
 * False (a repeat).
 *
 * A line is built without running its class's __init__ when the class passes
 * `line_type_learn`: its four attributes are writable object slots of its own, it has no
 * __dict__ and no __post_init__, and building one by calling the class stores the four
 * arguments, as given, in those slots in that order (a dataclass with these four fields).
 * Else the class is called.
 */
#define TS_MIN (-62135596800000LL) /* lambda_logs.py _TS_MIN: 0001-01-01 */
#define TS_MAX 253402300799999LL   /* _TS_MAX: 9999-12-31 */

static PyObject *str_timestamp, *str_message_key, *str_stream_key, *str_event_id_key, *str_id_key;
/* The class last learnt (a reference kept), whether it is built by its slots, and their
 * offsets (timestamp_ms, message, log_stream, event_id): written together, after every
 * call into Python that learning makes, so a nested call cannot leave them mismatched. */
static PyObject *line_type_known;
static Py_ssize_t line_offsets[4];
static int line_fast;

static int line_slots_of(PyTypeObject *type, Py_ssize_t offsets[4]) {
    PyObject *names[4] = {str_timestamp_ms, str_message, str_log_stream, str_event_id};
    if (type->tp_dictoffset != 0 || !(type->tp_flags & Py_TPFLAGS_HAVE_GC)) return 0;
    for (int i = 0; i < 4; i++) {
        PyObject *descr = PyObject_GetAttr((PyObject *)type, names[i]);
        if (descr == NULL) {
            PyErr_Clear();
            return 0;
        }
        int ok = Py_IS_TYPE(descr, &PyMemberDescr_Type) && PyDescr_TYPE(descr) == type;
        if (ok) {
            PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
            offsets[i] = member->offset;
            ok = member->type == T_OBJECT_EX && !(member->flags & READONLY) &&
                 offsets[i] >= (Py_ssize_t)sizeof(PyObject) &&
                 offsets[i] + (Py_ssize_t)sizeof(PyObject *) <= type->tp_basicsize;
        }
        Py_DECREF(descr);
        if (!ok) return 0;
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < i; j++)
            if (offsets[i] == offsets[j]) return 0;
    if (PyObject_HasAttrString((PyObject *)type, "__post_init__")) return 0;
    /* What calling the class stores: each argument, as given, in its slot. */
    PyObject *sample[4] = {PyLong_FromLong(1), PyUnicode_FromString("message"), PyUnicode_FromString("stream"),
                           PyUnicode_FromString("event")};
    int ok = sample[0] && sample[1] && sample[2] && sample[3];
    PyObject *built = ok ? PyObject_Vectorcall((PyObject *)type, sample, 4, NULL) : NULL;
    ok = built != NULL && Py_IS_TYPE(built, type);
    for (int i = 0; ok && i < 4; i++) ok = *(PyObject **)((char *)built + offsets[i]) == sample[i];
    Py_XDECREF(built);
    for (int i = 0; i < 4; i++) Py_XDECREF(sample[i]);
    PyErr_Clear();
    return ok;
}

static PyObject *line_new(PyTypeObject *type, PyObject *values[4]) {
    if ((PyObject *)type != line_type_known) {
        Py_ssize_t offsets[4];
        int fast = line_slots_of(type, offsets);
        Py_XSETREF(line_type_known, Py_NewRef((PyObject *)type));
        memcpy(line_offsets, offsets, sizeof(offsets));
        line_fast = fast;
    }
    if (!line_fast) return PyObject_Vectorcall((PyObject *)type, values, 4, NULL);
    PyObject *line = type->tp_alloc(type, 0);
    if (line == NULL) return NULL;
    for (int i = 0; i < 4; i++) *(PyObject **)((char *)line + line_offsets[i]) = Py_NewRef(values[i]);
    return line;
}

/* Whether every key of the dict is an exact str: then looking a str up runs no Python. */
static int str_keys_only(PyObject *dict) {
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(dict, &pos, &key, &value))
        if (!PyUnicode_CheckExact(key)) return 0;
    return 1;
}

/* The event's line, fast: 1 (`*line` set, or NULL for a repeat), 0 to skip it (counted), 2 for
 * the slow path, -1 on error. Exact str keys are looked up in a dict of exact str keys: no
 * Python code runs until the values are held. */
static int event_line_fast(PyObject *event, PyTypeObject *type, PyObject *seen, PyObject **line) {
    *line = NULL;
    if (!PyDict_CheckExact(event) || !str_keys_only(event)) return 2;
    PyObject *ts = PyDict_GetItemWithError(event, str_timestamp);
    PyObject *msg = ts || !PyErr_Occurred() ? PyDict_GetItemWithError(event, str_message_key) : NULL;
    if (PyErr_Occurred()) return -1;
    if (ts == NULL || !PyLong_CheckExact(ts)) return 2;
    int overflow;
    long long ms = PyLong_AsLongLongAndOverflow(ts, &overflow);
    if (ms == -1 && PyErr_Occurred()) return -1;
    if (overflow || ms < TS_MIN || ms > TS_MAX) return 0;
    if (msg == NULL || !PyUnicode_Check(msg)) return 0;
    if (!PyUnicode_CheckExact(msg)) return 2;
    PyObject *stream = PyDict_GetItemWithError(event, str_stream_key);
    if (stream == NULL && PyErr_Occurred()) return -1;
    PyObject *eid = PyDict_GetItemWithError(event, str_event_id_key);
    if (eid == NULL && PyErr_Occurred()) return -1;
    if (eid == NULL || eid == Py_None || (PyUnicode_CheckExact(eid) && PyUnicode_GET_LENGTH(eid) == 0)) {
        eid = PyDict_GetItemWithError(event, str_id_key); /* `event.get("eventId") or event.get("id")` */
        if (eid == NULL && PyErr_Occurred()) return -1;
        if (eid != NULL && !PyUnicode_CheckExact(eid)) {
            if (PyUnicode_Check(eid)) return 2; /* a str subclass: as Python would */
            eid = NULL;
        }
    } else if (!PyUnicode_CheckExact(eid)) {
        return 2; /* its truth decides whether "id" is read: Python's */
    }
    /* Held from here: a member of `seen` may compare itself to the id in Python, and
       calling the class (when it is not built by its slots) runs Python. */
    PyObject *values[4] = {Py_NewRef(ts), Py_NewRef(msg),
                           stream != NULL && PyUnicode_CheckExact(stream) ? Py_NewRef(stream) : PyUnicode_New(0, 0),
                           Py_NewRef(eid != NULL ? eid : Py_None)};
    int rc = values[2] == NULL ? -1 : 1;
    if (rc == 1 && eid != NULL) {
        int known = PySet_Contains(seen, values[3]);
        if (known < 0) rc = -1;
        else if (known) rc = 1; /* a repeat: no line */
        else if (PySet_Add(seen, values[3]) < 0) rc = -1;
        if (known) goto done;
    }
    if (rc == 1) {
        Py_ssize_t len = PyUnicode_GET_LENGTH(values[1]);
        int kind = PyUnicode_KIND(values[1]);
        const void *data = PyUnicode_DATA(values[1]);
        Py_ssize_t end = len;
        while (end > 0 && PyUnicode_READ(kind, data, end - 1) == '\n') end--;
        if (end < len) Py_SETREF(values[1], PyUnicode_Substring(values[1], 0, end));
        if (values[1] == NULL || (*line = line_new(type, values)) == NULL) rc = -1;
    }
done:
    for (int i = 0; i < 4; i++) Py_XDECREF(values[i]);
    return rc;
}

static PyObject *event_lines(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *events, *seen, *slow;
    PyTypeObject *type;
    if (!PyArg_ParseTuple(args, "OO!O!O:event_lines", &events, &PyType_Type, &type, &PySet_Type, &seen, &slow))
        return NULL;
    /* A set subclass may count membership its own way: Python's `in` and `add`, then. */
    int fast = PySet_CheckExact(seen);
    PyObject *iterator = PyObject_GetIter(events);
    if (iterator == NULL) return NULL;
    PyObject *lines = PyList_New(0);
    Py_ssize_t skipped = 0;
    PyObject *event;
    while (lines != NULL && (event = PyIter_Next(iterator)) != NULL) {
        PyObject *line;
        int rc = fast ? event_line_fast(event, type, seen, &line) : 2;
        if (rc == 2) {
            line = PyObject_CallOneArg(slow, event);
            if (line == NULL) rc = -1;
            else if (line == Py_None || line == Py_False) {
                rc = line == Py_None ? 0 : 1;
                Py_CLEAR(line);
            } else rc = 1;
        }
        Py_DECREF(event);
        if (rc < 0 || (line != NULL && PyList_Append(lines, line) < 0)) {
            Py_XDECREF(line);
            Py_CLEAR(lines);
            break;
        }
        Py_XDECREF(line);
        if (rc == 0) skipped++;
    }
    Py_DECREF(iterator);
    if (lines == NULL || PyErr_Occurred()) {
        Py_XDECREF(lines);
        return NULL;
    }
    return Py_BuildValue("(Nn)", lines, skipped);
}

static PyMethodDef methods[] = {
    {"block_keys", block_keys, METH_O, "The sorted, distinct keys of a block's lines (UTF-8 bytes each)."},
    {"encode_lines", encode_lines, METH_VARARGS, "Log lines as binary COPY tuples: (ms, messages, ids, tuples)."},
    {"encode_blocks", encode_blocks, METH_VARARGS, "Search blocks as binary COPY tuples: (payload, blocks, days)."},
    {"event_lines", event_lines, METH_VARARGS, "The log lines of CloudWatch Logs events: (lines, skipped)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cingest", "The compiled parts of log ingestion.", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__cingest(void) {
    tables_init();
    str_timestamp_ms = PyUnicode_InternFromString("timestamp_ms");
    str_message = PyUnicode_InternFromString("message");
    str_log_stream = PyUnicode_InternFromString("log_stream");
    str_event_id = PyUnicode_InternFromString("event_id");
    str_timestamp = PyUnicode_InternFromString("timestamp");
    str_message_key = PyUnicode_InternFromString("message");
    str_stream_key = PyUnicode_InternFromString("logStreamName");
    str_event_id_key = PyUnicode_InternFromString("eventId");
    str_id_key = PyUnicode_InternFromString("id");
    if (!str_timestamp_ms || !str_message || !str_log_stream || !str_event_id || !str_timestamp || !str_message_key ||
        !str_stream_key || !str_event_id_key || !str_id_key)
        return NULL;
    return PyModule_Create(&module);
}
