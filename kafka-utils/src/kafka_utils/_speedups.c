/* kafka_utils._speedups: the consumer's record view, compiled.
 *
 * The consumer hands out one ConsumerRecord per librdkafka message. In Python, the
 * view over a message (kafka_utils._records._MessageRecord) is an instance of a
 * class statement, and CPython tracks every such instance for its cyclic garbage
 * collector: with the message it wraps, each record is two tracked objects, so a
 * batch of 500 crosses the collector's 700-allocation threshold and every batch
 * triggers a collection that walks the records still alive (ADR 0008).
 *
 * This module builds the same view as a type without garbage-collector support.
 * A view holds one strong reference, to its message, and a message never refers
 * back to a view, so a view can never be part of a reference cycle: reference
 * counting alone frees it. The type is created at import time by
 * kafka_utils._records as a subclass of ConsumerRecord, so equality, hashing,
 * repr, pickling and immutability come from ConsumerRecord itself; this file only
 * supplies the field getters, the allocation and the batch loop.
 *
 * Built by hatch_build.py when a C compiler is present; without it,
 * kafka_utils._records falls back to the Python view, which behaves the same.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    PyObject_HEAD
    PyObject *message;
} MessageView;

/* Interned method names of confluent_kafka.Message, and the view type once bound. */
static PyObject *name_topic;
static PyObject *name_partition;
static PyObject *name_offset;
static PyObject *name_key;
static PyObject *name_value;
static PyObject *name_headers;
static PyObject *name_timestamp;
static PyObject *name_error;
static PyTypeObject *view_type;

static PyObject *
call_message(PyObject *self, PyObject *name)
{
    return PyObject_CallMethodNoArgs(((MessageView *)self)->message, name);
}

/* topic, partition, offset, key and value: the message's own accessor, as is. */
static PyObject *
get_field(PyObject *self, void *name)
{
    return call_message(self, (PyObject *)name);
}

/* headers: a tuple of (name, value) pairs, empty when the message has none. */
static PyObject *
get_headers(PyObject *self, void *unused)
{
    PyObject *headers = call_message(self, name_headers);
    if (headers == NULL) {
        return NULL;
    }

    int present = PyObject_IsTrue(headers);
    if (present < 0) {
        Py_DECREF(headers);
        return NULL;
    }
    PyObject *result = present ? PySequence_Tuple(headers) : PyTuple_New(0);
    Py_DECREF(headers);
    return result;
}

/* timestamp_ms: the second item of the message's (type, timestamp) pair. */
static PyObject *
get_timestamp_ms(PyObject *self, void *unused)
{
    PyObject *pair = call_message(self, name_timestamp);
    if (pair == NULL) {
        return NULL;
    }

    PyObject *timestamp = PySequence_GetItem(pair, 1);
    Py_DECREF(pair);
    return timestamp;
}

static PyObject *
get_message(PyObject *self, void *unused)
{
    return Py_NewRef(((MessageView *)self)->message);
}

static PyGetSetDef view_getset[] = {
    {"topic", get_field, NULL, "the topic it was read from", NULL},
    {"partition", get_field, NULL, "its partition", NULL},
    {"offset", get_field, NULL, "its offset in the partition", NULL},
    {"key", get_field, NULL, "the key bytes, or None", NULL},
    {"value", get_field, NULL, "the value bytes, or None for a tombstone", NULL},
    {"headers", get_headers, NULL, "(name, value) pairs in wire order", NULL},
    {"timestamp_ms", get_timestamp_ms, NULL, "the record timestamp in ms", NULL},
    {"_message", get_message, NULL, "the librdkafka message viewed", NULL},
    {NULL},
};

static void
view_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    Py_CLEAR(((MessageView *)self)->message);
    type->tp_free(self);
    Py_DECREF(type);
}

/* Present only so that the type does not inherit ConsumerRecord's garbage
 * collector support (CPython copies it when a type has neither traverse nor
 * clear). Instances are never tracked, so the collector never calls it. */
static int
view_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((MessageView *)self)->message);
    return 0;
}

static PyObject *
new_view(PyObject *message)
{
    MessageView *view = PyObject_New(MessageView, view_type);
    if (view == NULL) {
        return NULL;
    }
    view->message = Py_NewRef(message);
    return (PyObject *)view;
}

static int
require_bound(void)
{
    if (view_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "kafka_utils._speedups is not bound");
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(bind_doc,
"bind(base, /)\n--\n\n"
"Create the compiled view type as a subclass of `base` (ConsumerRecord) and\n"
"return it. Called once, by kafka_utils._records.");

static PyObject *
bind(PyObject *module, PyObject *base)
{
    if (view_type != NULL) {
        return Py_NewRef((PyObject *)view_type);
    }
    if (!PyType_Check(base)) {
        PyErr_SetString(PyExc_TypeError, "bind() needs a class");
        return NULL;
    }

    /* `name_topic` and friends double as the getters' closures. */
    view_getset[0].closure = name_topic;
    view_getset[1].closure = name_partition;
    view_getset[2].closure = name_offset;
    view_getset[3].closure = name_key;
    view_getset[4].closure = name_value;

    PyType_Slot slots[] = {
        {Py_tp_dealloc, view_dealloc},
        {Py_tp_traverse, view_traverse},
        {Py_tp_free, PyObject_Free},
        {Py_tp_getset, view_getset},
        {Py_tp_doc, "A ConsumerRecord over a librdkafka message (compiled)."},
        {0, NULL},
    };
    PyType_Spec spec = {
        .name = "kafka_utils._speedups.MessageView",
        .basicsize = sizeof(MessageView),
        .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
        .slots = slots,
    };
    PyObject *bases = PyTuple_Pack(1, base);
    if (bases == NULL) {
        return NULL;
    }
    PyObject *type = PyType_FromModuleAndSpec(module, &spec, bases);
    Py_DECREF(bases);
    if (type == NULL) {
        return NULL;
    }
    if (PyType_HasFeature((PyTypeObject *)type, Py_TPFLAGS_HAVE_GC)) {
        Py_DECREF(type);
        PyErr_SetString(PyExc_TypeError, "the view type must not be collected");
        return NULL;
    }
    view_type = (PyTypeObject *)Py_NewRef(type);
    return type;
}

PyDoc_STRVAR(view_doc,
"view(message, /)\n--\n\n"
"A ConsumerRecord over one librdkafka message.");

static PyObject *
view(PyObject *module, PyObject *message)
{
    if (require_bound() < 0) {
        return NULL;
    }
    return new_view(message);
}

PyDoc_STRVAR(append_views_doc,
"append_views(messages, start, end, records, /)\n--\n\n"
"Append a view for each of messages[start:end] to the list `records`.\n\n"
"Stops at the first message that carries an error and returns its index, or\n"
"returns `end` when every message became a record.");

static PyObject *
append_views(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "append_views() takes 4 arguments");
        return NULL;
    }
    PyObject *messages = args[0];
    PyObject *records = args[3];
    if (!PyList_Check(messages) || !PyList_Check(records)) {
        PyErr_SetString(PyExc_TypeError, "append_views() needs two lists");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    if (start == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t end = PyLong_AsSsize_t(args[2]);
    if (end == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (require_bound() < 0) {
        return NULL;
    }

    for (Py_ssize_t index = start; index < end; index++) {
        /* The list may not shrink under us: nothing here runs Python code that
         * could touch it, but check the bound anyway rather than trust it. */
        if (index >= PyList_GET_SIZE(messages)) {
            PyErr_SetString(PyExc_IndexError, "append_views() past the list's end");
            return NULL;
        }
        PyObject *message = PyList_GET_ITEM(messages, index);

        PyObject *error = PyObject_CallMethodNoArgs(message, name_error);
        if (error == NULL) {
            return NULL;
        }
        int has_error = error != Py_None;
        Py_DECREF(error);
        if (has_error) {
            return PyLong_FromSsize_t(index);
        }

        PyObject *record = new_view(message);
        if (record == NULL) {
            return NULL;
        }
        int failed = PyList_Append(records, record);
        Py_DECREF(record);
        if (failed) {
            return NULL;
        }
    }
    return PyLong_FromSsize_t(end);
}

static PyMethodDef module_methods[] = {
    {"bind", bind, METH_O, bind_doc},
    {"view", view, METH_O, view_doc},
    {"append_views", (PyCFunction)(void (*)(void))append_views, METH_FASTCALL,
     append_views_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "kafka_utils._speedups",
    .m_doc = "The consumer's record view, compiled (see kafka_utils._records).",
    .m_size = -1,
    .m_methods = module_methods,
};

static int
intern_names(void)
{
    struct {
        PyObject **slot;
        const char *text;
    } names[] = {
        {&name_topic, "topic"},
        {&name_partition, "partition"},
        {&name_offset, "offset"},
        {&name_key, "key"},
        {&name_value, "value"},
        {&name_headers, "headers"},
        {&name_timestamp, "timestamp"},
        {&name_error, "error"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        *names[i].slot = PyUnicode_InternFromString(names[i].text);
        if (*names[i].slot == NULL) {
            return -1;
        }
    }
    return 0;
}

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (intern_names() < 0) {
        return NULL;
    }
    return PyModule_Create(&speedups_module);
}
