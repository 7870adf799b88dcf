/* kafka_utils._speedups: the hot per-record paths of the clients, compiled.
 *
 * Consumer side. The consumer hands out one ConsumerRecord per librdkafka message.
 * In Python, the view over a message (kafka_utils._records._MessageRecord) is an
 * instance of a class statement, and CPython tracks every such instance for its
 * cyclic garbage collector: with the message it wraps, each record is two tracked
 * objects, so a batch of 500 crosses the collector's 700-allocation threshold and
 * every batch triggers a collection that walks the records still alive (ADR 0008).
 *
 * This module builds the same view as a type without garbage-collector support,
 * and `ready`, the already-done awaitable that `async for` gets per buffered record.
 * A view holds one strong reference, to its message, and a message never refers
 * back to a view, so a view can never be part of a reference cycle: reference
 * counting alone frees it. The type is created at import time by
 * kafka_utils._records as a subclass of ConsumerRecord, so equality, hashing,
 * repr, pickling and immutability come from ConsumerRecord itself; this file only
 * supplies the field getters, the allocation and the batch loop. `latest_offsets`
 * finds the consumer's next position per partition after a batch is handed out.
 *
 * Producer side. `delivery` is the librdkafka callback of one awaited send, and
 * `resolve_deliveries` turns a batch of delivery reports into RecordMetadata and
 * resolved futures without a Python frame per record (ADR 0009).
 *
 * Built by hatch_build.py when a C compiler is present; without it, the package
 * falls back to its Python versions (kafka_utils._records,
 * kafka_utils.client._ready and kafka_utils.client._deliveries), which behave the
 * same.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

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

/* ---- Delivery: the librdkafka callback of one awaited send ------------------
 *
 * AsyncProducer.send_nowait() returns a plain asyncio.Future and gives librdkafka
 * a Delivery as the record's `on_delivery` callback. The future must be of the
 * exact asyncio.Future type: a task awaiting a subclass leaves the C fast path of
 * asyncio's task step, which cost about 0.5 us per awaited record. A Delivery is
 * called with (error, message) on whichever thread serves librdkafka's events and
 * only appends (future, error, message) to the producer's report list; the loop
 * later resolves the futures of a whole batch of reports in resolve_deliveries().
 *
 * A Delivery is not tracked by the cyclic collector. It refers to the report list
 * and to its future; neither can lead back to it (the list holds the future, not
 * the Delivery), so reference counting alone frees it. */

typedef struct {
    PyObject_HEAD
    PyObject *reports;
    PyObject *future;
    vectorcallfunc vectorcall;
} Delivery;

static PyTypeObject *delivery_type;
static PyObject *name_done;
static PyObject *name_set_result;
static PyObject *name_set_exception;

static void
delivery_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    Py_CLEAR(((Delivery *)self)->reports);
    Py_CLEAR(((Delivery *)self)->future);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyObject *
delivery_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                    PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 2 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        PyErr_SetString(PyExc_TypeError, "a Delivery takes (error, message)");
        return NULL;
    }
    Delivery *delivery = (Delivery *)self;
    PyObject *report = PyTuple_Pack(3, delivery->future, args[0], args[1]);
    if (report == NULL) {
        return NULL;
    }
    int failed = PyList_Append(delivery->reports, report);
    Py_DECREF(report);
    if (failed) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Resolve `future` with `result` (or fail it), unless it is done already: the
 * sender may have cancelled it. */
static int
settle_future(PyObject *future, PyObject *result, int failed)
{
    PyObject *done = PyObject_CallMethodNoArgs(future, name_done);
    if (done == NULL) {
        return -1;
    }
    int is_done = PyObject_IsTrue(done);
    Py_DECREF(done);
    if (is_done) {
        return is_done < 0 ? -1 : 0;
    }

    PyObject *name = failed ? name_set_exception : name_set_result;
    PyObject *outcome = PyObject_CallMethodOneArg(future, name, result);
    if (outcome == NULL) {
        return -1;
    }
    Py_DECREF(outcome);
    return 0;
}

static PyObject *
delivery_settle(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "settle() takes (result, failed)");
        return NULL;
    }
    int failed = PyObject_IsTrue(args[1]);
    if (failed < 0 || settle_future(((Delivery *)self)->future, args[0], failed)) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
delivery_get_future(PyObject *self, void *unused)
{
    return Py_NewRef(((Delivery *)self)->future);
}

static PyMethodDef delivery_methods[] = {
    {"settle", (PyCFunction)(void (*)(void))delivery_settle, METH_FASTCALL,
     "Resolve the future with `result`, or fail it with `result` when `failed`."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef delivery_getset[] = {
    {"future", delivery_get_future, NULL, "the future the sender awaits", NULL},
    {NULL},
};

static PyMemberDef delivery_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Delivery, vectorcall), READONLY},
    {NULL},
};

static PyType_Slot delivery_slots[] = {
    {Py_tp_dealloc, delivery_dealloc},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_methods, delivery_methods},
    {Py_tp_getset, delivery_getset},
    {Py_tp_members, delivery_members},
    {Py_tp_doc, "The on_delivery callback of one awaited send (compiled)."},
    {0, NULL},
};

static PyType_Spec delivery_spec = {
    .name = "kafka_utils._speedups.Delivery",
    .basicsize = sizeof(Delivery),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_HAVE_VECTORCALL,
    .slots = delivery_slots,
};

PyDoc_STRVAR(delivery_doc,
"delivery(reports, future, /)\n--\n\n"
"The on_delivery callback of one awaited send: called with (error, message), it\n"
"appends (future, error, message) to the list `reports`.");

static PyObject *
delivery(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "delivery() takes (list, future)");
        return NULL;
    }
    Delivery *callback = PyObject_New(Delivery, delivery_type);
    if (callback == NULL) {
        return NULL;
    }
    callback->reports = Py_NewRef(args[0]);
    callback->future = Py_NewRef(args[1]);
    callback->vectorcall = delivery_vectorcall;
    return (PyObject *)callback;
}

/* RecordMetadata and the slot descriptors of its four fields, set by
 * bind_metadata(). The instance is built as make_record_metadata() in
 * kafka_utils._records builds it: allocated, then each slot set directly,
 * without the frozen dataclass's __init__. */
static PyTypeObject *metadata_type;
static PyObject *metadata_fields[4];

PyDoc_STRVAR(bind_metadata_doc,
"bind_metadata(cls, /)\n--\n\n"
"Remember RecordMetadata, whose slots topic, partition, offset and timestamp_ms\n"
"resolve_deliveries() fills. Called once, by kafka_utils.client._deliveries.");

static PyObject *
bind_metadata(PyObject *module, PyObject *cls)
{
    if (!PyType_Check(cls)) {
        PyErr_SetString(PyExc_TypeError, "bind_metadata() needs a class");
        return NULL;
    }
    const char *names[4] = {"topic", "partition", "offset", "timestamp_ms"};
    PyObject *fields[4];
    for (int i = 0; i < 4; i++) {
        PyObject *field = PyDict_GetItemString(((PyTypeObject *)cls)->tp_dict, names[i]);
        if (field == NULL || Py_TYPE(field)->tp_descr_set == NULL) {
            PyErr_Format(PyExc_TypeError, "%s.%s is not a slot",
                         ((PyTypeObject *)cls)->tp_name, names[i]);
            return NULL;
        }
        fields[i] = field;
    }
    for (int i = 0; i < 4; i++) {
        Py_XSETREF(metadata_fields[i], Py_NewRef(fields[i]));
    }
    Py_XSETREF(metadata_type, (PyTypeObject *)Py_NewRef(cls));
    Py_RETURN_NONE;
}

/* The RecordMetadata of a delivered message. */
static PyObject *
new_metadata(PyObject *message)
{
    PyObject *values[4] = {NULL, NULL, NULL, NULL};
    PyObject *metadata = NULL;

    values[0] = PyObject_CallMethodNoArgs(message, name_topic);
    values[1] = values[0] ? PyObject_CallMethodNoArgs(message, name_partition) : NULL;
    values[2] = values[1] ? PyObject_CallMethodNoArgs(message, name_offset) : NULL;
    PyObject *pair = values[2] ? PyObject_CallMethodNoArgs(message, name_timestamp)
                               : NULL;
    if (pair != NULL) {
        values[3] = PySequence_GetItem(pair, 1);
        Py_DECREF(pair);
    }
    if (values[3] == NULL) {
        goto done;
    }

    metadata = metadata_type->tp_alloc(metadata_type, 0);
    if (metadata == NULL) {
        goto done;
    }
    for (int i = 0; i < 4; i++) {
        PyObject *field = metadata_fields[i];
        if (Py_TYPE(field)->tp_descr_set(field, metadata, values[i]) < 0) {
            Py_CLEAR(metadata);
            goto done;
        }
    }
    /* Its fields are a str, two ints and an int or None, and it is frozen: it can
     * never be part of a reference cycle, so the collector need not walk it. */
    if (PyObject_IS_GC(metadata)) {
        PyObject_GC_UnTrack(metadata);
    }

done:
    for (int i = 0; i < 4; i++) {
        Py_XDECREF(values[i]);
    }
    return metadata;
}

PyDoc_STRVAR(resolve_deliveries_doc,
"resolve_deliveries(reports, future_type, /)\n--\n\n"
"Resolve, with its RecordMetadata, the future of every successful report in the\n"
"list `reports` of (target, error, message) whose target is a `future_type`\n"
"(skipping futures already done). Returns a list of the other reports, in order:\n"
"failures, batch slots and produce() records, which the caller settles.");

static PyObject *
resolve_deliveries(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_Check(args[0]) || !PyType_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "resolve_deliveries() takes (list, type)");
        return NULL;
    }
    if (metadata_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "RecordMetadata is not bound");
        return NULL;
    }
    PyObject *reports = args[0];
    PyTypeObject *future_type = (PyTypeObject *)args[1];
    PyObject *rest = PyList_New(0);
    if (rest == NULL) {
        return NULL;
    }

    /* set_result() schedules the waiting task through loop.call_soon(), which is
     * Python code. `reports` is the caller's own batch, which nothing else holds,
     * but the bound is read again on every step rather than trusted. */
    for (Py_ssize_t index = 0; index < PyList_GET_SIZE(reports); index++) {
        PyObject *report = PyList_GET_ITEM(reports, index);
        if (!PyTuple_Check(report) || PyTuple_GET_SIZE(report) != 3) {
            PyErr_SetString(PyExc_TypeError, "a report is (target, error, message)");
            goto failed;
        }
        PyObject *target = PyTuple_GET_ITEM(report, 0);
        if (PyTuple_GET_ITEM(report, 1) != Py_None || Py_TYPE(target) != future_type) {
            if (PyList_Append(rest, report) < 0) {
                goto failed;
            }
            continue;
        }

        Py_INCREF(report);
        PyObject *metadata = new_metadata(PyTuple_GET_ITEM(report, 2));
        int settled = metadata == NULL ? -1 : settle_future(target, metadata, 0);
        Py_XDECREF(metadata);
        Py_DECREF(report);
        if (settled < 0) {
            goto failed;
        }
    }
    return rest;

failed:
    Py_DECREF(rest);
    return NULL;
}

/* ---- latest_offsets: the consumer's positions after a returned batch -------
 *
 * After handing records out, the consumer notes the next offset of each partition
 * they came from. Walking the batch backwards, the first message seen of a
 * partition is its last one. librdkafka hands out each partition's messages in
 * runs, so most messages belong to the same partition as the one after them: for
 * those, two getter calls and a comparison replace the tuple, the dictionary
 * lookup and the error check of the general step. */

PyDoc_STRVAR(latest_offsets_doc,
"latest_offsets(messages, start, stop, wanted, /)\n--\n\n"
"The next offset of each (topic, partition) among messages[start:stop].\n\n"
"Walks backwards and skips messages that carry an error; stops early once\n"
"`wanted` partitions are known.");

static PyObject *
latest_offsets(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "latest_offsets() takes 4 arguments");
        return NULL;
    }
    PyObject *messages = args[0];
    if (!PyList_Check(messages)) {
        PyErr_SetString(PyExc_TypeError, "latest_offsets() needs a list");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    if (start == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t stop = PyLong_AsSsize_t(args[2]);
    if (stop == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t wanted = PyLong_AsSsize_t(args[3]);
    if (wanted == -1 && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *latest = PyDict_New();
    if (latest == NULL) {
        return NULL;
    }

    /* The (topic, partition) of the last message found in `latest`: strong
     * references, released on every exit. */
    PyObject *known_topic = NULL;
    PyObject *known_partition = NULL;
    PyObject *topic = NULL;
    PyObject *partition = NULL;

    for (Py_ssize_t index = stop - 1; index >= start; index--) {
        if (index >= PyList_GET_SIZE(messages)) {
            PyErr_SetString(PyExc_IndexError, "latest_offsets() past the list's end");
            goto failed;
        }
        PyObject *message = PyList_GET_ITEM(messages, index);
        Py_INCREF(message);
        partition = PyObject_CallMethodNoArgs(message, name_partition);
        topic = partition == NULL ? NULL : PyObject_CallMethodNoArgs(message, name_topic);
        if (topic == NULL) {
            Py_DECREF(message);
            goto failed;
        }

        int same = 0;
        if (known_topic != NULL) {
            same = PyObject_RichCompareBool(partition, known_partition, Py_EQ);
            if (same > 0) {
                same = PyObject_RichCompareBool(topic, known_topic, Py_EQ);
            }
            if (same < 0) {
                Py_DECREF(message);
                goto failed;
            }
        }
        if (same) {
            Py_DECREF(message);
            Py_CLEAR(topic);
            Py_CLEAR(partition);
            continue;
        }

        PyObject *key = PyTuple_Pack(2, topic, partition);
        int found = key == NULL ? -1 : PyDict_Contains(latest, key);
        int has_error = 0;
        if (found == 0) {
            PyObject *error = PyObject_CallMethodNoArgs(message, name_error);
            has_error = error == NULL ? -1 : error != Py_None;
            Py_XDECREF(error);
        }
        if (found == 0 && has_error == 0) {
            PyObject *offset = PyObject_CallMethodNoArgs(message, name_offset);
            PyObject *next = NULL;
            if (offset != NULL) {
                long long value = PyLong_AsLongLong(offset);
                Py_DECREF(offset);
                if (!(value == -1 && PyErr_Occurred())) {
                    next = PyLong_FromLongLong(value + 1);
                }
            }
            found = next == NULL ? -1 : PyDict_SetItem(latest, key, next);
            Py_XDECREF(next);
        }
        Py_XDECREF(key);
        Py_DECREF(message);
        if (found < 0 || has_error < 0) {
            goto failed;
        }
        if (has_error) {
            Py_CLEAR(topic);
            Py_CLEAR(partition);
            continue;
        }

        Py_XSETREF(known_topic, topic);
        Py_XSETREF(known_partition, partition);
        topic = NULL;
        partition = NULL;
        if (PyDict_GET_SIZE(latest) == wanted) {
            break;
        }
    }
    Py_XDECREF(known_topic);
    Py_XDECREF(known_partition);
    return latest;

failed:
    Py_XDECREF(topic);
    Py_XDECREF(partition);
    Py_XDECREF(known_topic);
    Py_XDECREF(known_partition);
    Py_DECREF(latest);
    return NULL;
}

static PyMethodDef module_methods[] = {
    {"bind", bind, METH_O, bind_doc},
    {"view", view, METH_O, view_doc},
    {"ready", ready, METH_O, ready_doc},
    {"next_ready", next_ready, METH_O, next_ready_doc},
    {"delivery", (PyCFunction)(void (*)(void))delivery, METH_FASTCALL, delivery_doc},
    {"bind_metadata", bind_metadata, METH_O, bind_metadata_doc},
    {"resolve_deliveries", (PyCFunction)(void (*)(void))resolve_deliveries,
     METH_FASTCALL, resolve_deliveries_doc},
    {"append_views", (PyCFunction)(void (*)(void))append_views, METH_FASTCALL,
     append_views_doc},
    {"latest_offsets", (PyCFunction)(void (*)(void))latest_offsets, METH_FASTCALL,
     latest_offsets_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "kafka_utils._speedups",
    .m_doc = "The clients' hot per-record paths, compiled (see _speedups.c).",
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
        {&name_done, "done"},
        {&name_set_result, "set_result"},
        {&name_set_exception, "set_exception"},
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
    delivery_type =
        (PyTypeObject *)PyType_FromModuleAndSpec(module, &delivery_spec, NULL);
    if (delivery_type == NULL) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
