/*
 * Log lines encoded as binary COPY tuples, compiled: the inner loop of `lines_of` in
 * loglines.py, whose Python version defines what this computes and stays the reference
 * (the tests compare the two). docs/architecture.md §6, "Ingestion throughput".
 *
 *     encode_lines(groups, event_ids, prefix_of, storable) -> (ms, messages, ids, tuples)
 *
 * `groups`: a list of (invocation part, lines): the encoded invocation id and request id
 * the lines share, and their LogLine objects. For each line with an event id (from
 * `event_ids`, a dict id(line) -> event id, when it has one, else its own):
 *   - its tuple: prefix_of(invocation part, log stream) (cached per pair), the time as
 *     PostgreSQL's microseconds since 2000, the event id (its first 64 characters) and the
 *     message as stored;
 *   - the message as stored: the text's UTF-8 when it is ASCII without NUL, else
 *     storable(message) (NUL removed, a lone surrogate replaced).
 * Lines without an event id are left out. Errors (a surrogate in an event id, a time out of
 * range, a value of the wrong type) raise as the Python version does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

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

/* Encode one line, appending to the four lists. 0 on success, -1 on error. */
static int encode_line(PyObject *line, PyObject *part, PyObject *event_ids, PyObject *prefixes, PyObject *prefix_of,
                       PyObject *storable, PyObject *lists[4]) {
    PyObject *eid = NULL, *stream = NULL, *key = NULL, *prefix = NULL, *message = NULL, *data = NULL, *ms = NULL,
             *tuple = NULL;
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
    if ((key = PyTuple_Pack(2, part, stream)) == NULL) goto done;
    prefix = PyDict_GetItemWithError(prefixes, key);
    if (prefix != NULL) Py_INCREF(prefix);
    else if (PyErr_Occurred()) goto done;
    else {
        if ((prefix = PyObject_CallFunctionObjArgs(prefix_of, part, stream, NULL)) == NULL) goto done;
        if (!PyBytes_Check(prefix)) {
            PyErr_SetString(PyExc_TypeError, "prefix_of() must return bytes");
            goto done;
        }
        if (PyDict_SetItem(prefixes, key, prefix) < 0) goto done;
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
    Py_ssize_t prefix_len = PyBytes_GET_SIZE(prefix), data_len = PyBytes_GET_SIZE(data);
    if (data_len > INT32_MAX || eid_len > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "a log line is too long");
        goto done;
    }
    tuple = PyBytes_FromStringAndSize(NULL, prefix_len + 4 + 8 + 4 + eid_len + 4 + data_len);
    if (tuple == NULL) goto done;
    char *p = PyBytes_AS_STRING(tuple);
    memcpy(p, PyBytes_AS_STRING(prefix), (size_t)prefix_len);
    p += prefix_len;
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
    Py_XDECREF(key);
    Py_XDECREF(prefix);
    Py_XDECREF(message);
    Py_XDECREF(data);
    Py_XDECREF(ms);
    Py_XDECREF(tuple);
    return rc;
}

static PyObject *encode_lines(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *groups, *event_ids, *prefix_of, *storable;
    if (!PyArg_ParseTuple(args, "O!OOO:encode_lines", &PyList_Type, &groups, &event_ids, &prefix_of, &storable))
        return NULL;
    if (event_ids == Py_None || (PyDict_Check(event_ids) && PyDict_GET_SIZE(event_ids) == 0)) event_ids = NULL;
    else if (!PyDict_Check(event_ids)) return PyErr_Format(PyExc_TypeError, "event_ids must be a dict or None");
    PyObject *lists[4] = {PyList_New(0), PyList_New(0), PyList_New(0), PyList_New(0)};
    PyObject *prefixes = PyDict_New();
    PyObject *out = NULL;
    if (!lists[0] || !lists[1] || !lists[2] || !lists[3] || !prefixes) goto done;
    for (Py_ssize_t g = 0; g < PyList_GET_SIZE(groups); g++) {
        PyObject *group = PyList_GET_ITEM(groups, g);
        if (!PyTuple_Check(group) || PyTuple_GET_SIZE(group) != 2) {
            PyErr_SetString(PyExc_TypeError, "each group must be a (bytes, lines) tuple");
            goto done;
        }
        PyObject *part = PyTuple_GET_ITEM(group, 0);
        PyObject *lines = PySequence_Fast(PyTuple_GET_ITEM(group, 1), "a group's lines must be a sequence");
        if (lines == NULL) goto done;
        for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(lines); i++) {
            if (encode_line(PySequence_Fast_GET_ITEM(lines, i), part, event_ids, prefixes, prefix_of, storable,
                            lists) < 0) {
                Py_DECREF(lines);
                goto done;
            }
        }
        Py_DECREF(lines);
    }
    out = PyTuple_Pack(4, lists[0], lists[1], lists[2], lists[3]);
done:
    for (int i = 0; i < 4; i++) Py_XDECREF(lists[i]);
    Py_XDECREF(prefixes);
    return out;
}

static PyMethodDef methods[] = {
    {"encode_lines", encode_lines, METH_VARARGS, "Log lines as binary COPY tuples: (ms, messages, ids, tuples)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_clines", "Log lines for COPY, compiled.", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__clines(void) {
    str_timestamp_ms = PyUnicode_InternFromString("timestamp_ms");
    str_message = PyUnicode_InternFromString("message");
    str_log_stream = PyUnicode_InternFromString("log_stream");
    str_event_id = PyUnicode_InternFromString("event_id");
    if (!str_timestamp_ms || !str_message || !str_log_stream || !str_event_id) return NULL;
    return PyModule_Create(&module);
}
