/*
 * The keys of a block's log lines, compiled: the same function as `block_keys` in
 * keys.py, which defines what it computes and stays the reference (the tests compare the
 * two on arbitrary bytes). docs/architecture.md §6, "Log search".
 *
 * Ingestion computes the keys of every line it stores; in Python that was a fifth of the
 * Python side's time. Here each word is lowered and cut into its key in one pass with no
 * object per word, keys are de-duplicated in an open-addressing hash set, and the GIL is
 * released meanwhile, so another thread (the parse of the next batch) runs on the other
 * core.
 *
 * A word is a run of bytes that are ASCII letters or digits, or any byte >= 0x80 (UTF-8
 * never splits a character so). Its key, lowered (ASCII letters only):
 *   - a word of one byte has none;
 *   - without an ASCII digit: its first WORD_MAX bytes;
 *   - with one: its first NUMBER_KEY bytes when they are all digits, else its first
 *     DIGIT_KEY bytes;
 * where "first N bytes" of a longer word means those bytes decoded as UTF-8 with the
 * invalid and cut characters dropped (Python's decode(errors="ignore")). Each camelCase
 * tail of a word (from an upper-case ASCII letter that follows a lower-case one, to its
 * end) has a key by the same rule.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
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

static uint32_t hash_bytes(const unsigned char *s, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 16777619u;
    }
    return h;
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

/* Add the key of the lowered word w[0:n] (n >= 2). */
static void add_key(KeySet *set, const unsigned char *w, size_t n) {
    int digit = 0, ascii = 1;
    for (size_t i = 0; i < n; i++) {
        if (w[i] >= '0' && w[i] <= '9') digit = 1;
        else if (w[i] >= 0x80) ascii = 0;
    }
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
        add_key(set, lw, len);
        for (size_t k = 1; k + 1 < len; k++) /* a tail of one byte has no key */
            if (w[k - 1] >= 'a' && w[k - 1] <= 'z' && w[k] >= 'A' && w[k] <= 'Z') add_key(set, lw + k, len - k);
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

static PyObject *block_keys(PyObject *self, PyObject *messages) {
    (void)self;
    PyObject *seq = PySequence_Fast(messages, "block_keys takes a sequence of bytes");
    if (seq == NULL) return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
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
    Key *keys = malloc((set.count ? set.count : 1) * sizeof(Key));
    if (keys == NULL) {
        keyset_free(&set);
        return PyErr_NoMemory();
    }
    size_t k = 0;
    for (size_t i = 0; i < set.capacity; i++)
        if (set.slots[i].len) {
            const unsigned char *data = (const unsigned char *)set.arena + set.slots[i].offset;
            size_t len = set.slots[i].len - 1;
            uint64_t head = 0;
            for (size_t b = 0; b < 8; b++) head = (head << 8) | (b < len ? data[b] : 0);
            keys[k++] = (Key){head, (const char *)data, len};
        }
    qsort(keys, set.count, sizeof(Key), key_compare);
    PyObject *out = PyList_New((Py_ssize_t)set.count);
    for (size_t i = 0; out != NULL && i < set.count; i++) {
        PyObject *key = PyBytes_FromStringAndSize(keys[i].data, (Py_ssize_t)keys[i].len);
        if (key == NULL) Py_CLEAR(out);
        else PyList_SET_ITEM(out, (Py_ssize_t)i, key);
    }
    free(keys);
    keyset_free(&set);
    return out;
}

static PyMethodDef methods[] = {
    {"block_keys", block_keys, METH_O, "The sorted, distinct keys of a block's lines (UTF-8 bytes each)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ckeys", "Log search keys, compiled.", -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__ckeys(void) {
    tables_init();
    return PyModule_Create(&module);
}
