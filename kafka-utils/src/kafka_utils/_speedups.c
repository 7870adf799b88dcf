/* kafka_utils._speedups: the consumer's record view, compiled.
 *
 * The consumer hands out one ConsumerRecord per librdkafka message. In Python, the
 * view over a message (kafka_utils._records._MessageRecord) is an instance of a
 * class statement, and CPython tracks every such instance for its cyclic garbage
 * collector: with the message it wraps, each record is two tracked objects, so a
 * batch of 500 crosses the collector's 700-allocation threshold and every batch
 * triggers a collection that walks the records still alive (ADR 0008).
 *
 * This module builds the same view as a type without garbage-collector support,
 * and `ready`, the already-done awaitable that `async for` gets per buffered record.
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

/* ---- Ready: an awaitable that is already done -------------------------------
 *
 * `async for` over the consumer awaits one object per record. When the record is
 * already buffered, nothing needs to wait: AsyncConsumer.__anext__ returns
 * ready(record), which hands the record back through the `am_send` slot on the
 * first send, with no coroutine frame and no StopIteration object. */

typedef struct {
    PyObject_HEAD
    PyObject *value;
} Ready;

static PyTypeObject *ready_type;

static void
ready_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    Py_CLEAR(((Ready *)self)->value);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyObject *
ready_await(PyObject *self)
{
    return Py_NewRef(self);
}

static PySendResult
ready_send(PyObject *self, PyObject *arg, PyObject **result)
{
    *result = Py_NewRef(((Ready *)self)->value);
    return PYGEN_RETURN;
}

/* For callers that drive the awaitable as a plain iterator: the value travels in
 * StopIteration, as a coroutine's return value does. */
static PyObject *
ready_next(PyObject *self)
{
    PyObject *value = ((Ready *)self)->value;
    PyObject *stop = PyObject_CallOneArg(PyExc_StopIteration, value);
    if (stop != NULL) {
        PyErr_SetObject(PyExc_StopIteration, stop);
        Py_DECREF(stop);
    }
    return NULL;
}

static PyObject *
ready_send_method(PyObject *self, PyObject *arg)
{
    return ready_next(self);
}

static PyMethodDef ready_methods[] = {
    {"send", ready_send_method, METH_O, "Finish at once with the value."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot ready_slots[] = {
    {Py_tp_dealloc, ready_dealloc},
    {Py_tp_iter, ready_await},
    {Py_tp_iternext, ready_next},
    {Py_tp_methods, ready_methods},
    {Py_am_await, ready_await},
    {Py_am_send, ready_send},
    {Py_tp_doc, "An awaitable that is already done, with its value."},
    {0, NULL},
};

static PyType_Spec ready_spec = {
    .name = "kafka_utils._speedups.Ready",
    .basicsize = sizeof(Ready),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = ready_slots,
};

PyDoc_STRVAR(ready_doc,
"ready(value, /)\n--\n\n"
"An awaitable that is already done: awaiting it returns `value` at once.");

static PyObject *
ready(PyObject *module, PyObject *value)
{
    Ready *awaitable = PyObject_New(Ready, ready_type);
    if (awaitable == NULL) {
        return NULL;
    }
    awaitable->value = Py_NewRef(value);
    return (PyObject *)awaitable;
}

PyDoc_STRVAR(next_ready_doc,
"next_ready(batch, /)\n--\n\n"
"The next record of a consumer batch, as an awaitable that is already done.\n\n"
"`batch` has `messages` (a list) and `position` (the next index). Returns None,\n"
"and leaves the batch as it is, when the next message carries an error or is\n"
"the batch's last one: the consumer's general path handles those.");

static PyObject *name_messages;
static PyObject *name_position;

static PyObject *
next_ready(PyObject *module, PyObject *batch)
{
    if (require_bound() < 0) {
        return NULL;
    }
    PyObject *messages = PyObject_GetAttr(batch, name_messages);
    if (messages == NULL) {
        return NULL;
    }
    PyObject *result = NULL;
    PyObject *position_object = PyObject_GetAttr(batch, name_position);
    if (position_object == NULL) {
        goto done;
    }
    Py_ssize_t position = PyLong_AsSsize_t(position_object);
    Py_DECREF(position_object);
    if (position == -1 && PyErr_Occurred()) {
        goto done;
    }
    if (!PyList_Check(messages) || position < 0 ||
        position + 1 >= PyList_GET_SIZE(messages)) {
        result = Py_NewRef(Py_None);
        goto done;
    }

    PyObject *message = PyList_GET_ITEM(messages, position);
    Py_INCREF(message);
    PyObject *error = PyObject_CallMethodNoArgs(message, name_error);
    if (error == NULL) {
        Py_DECREF(message);
        goto done;
    }
    int has_error = error != Py_None;
    Py_DECREF(error);
    if (has_error) {
        Py_DECREF(message);
        result = Py_NewRef(Py_None);
        goto done;
    }

    PyObject *next_position = PyLong_FromSsize_t(position + 1);
    if (next_position == NULL || PyObject_SetAttr(batch, name_position, next_position)) {
        Py_XDECREF(next_position);
        Py_DECREF(message);
        goto done;
    }
    Py_DECREF(next_position);
    PyObject *record = new_view(message);
    Py_DECREF(message);
    if (record == NULL) {
        goto done;
    }
    result = ready(module, record);
    Py_DECREF(record);

done:
    Py_DECREF(messages);
    return result;
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
    {"ready", ready, METH_O, ready_doc},
    {"next_ready", next_ready, METH_O, next_ready_doc},
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
        {&name_messages, "messages"},
        {&name_position, "position"},
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
    PyObject *module = PyModule_Create(&speedups_module);
    if (module == NULL) {
        return NULL;
    }
    ready_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &ready_spec, NULL);
    if (ready_type == NULL) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
