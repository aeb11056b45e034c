// Copyright 2026 The gr-eeamc authors
// SPDX-License-Identifier: GPL-3.0-or-later
//
// eeamc_native: the per-window reports of gr-eeamc's blocks (a stream tag and a `window` message per
// reported window) built and sent in C++, one call per work() call.
//
// Python builds the PMTs that are the same for many windows once (the tag's dict per class and exit,
// the unclassifiable window's dict, the metadata values of upstream tags) and picks the reported
// windows with numpy; this module turns the picked windows' numpy arrays into exactly the PMT dicts the
// Python path (python/eeamc/classifier.py, reports.MessageBuilder) builds, key by key and type by type,
// adds the tags and posts the messages as add_item_tag / message_port_pub do. Measured in the bench's
// work() profile (docs/native.md): 4.9 us a window for a tag and a message, against 43 us in Python.
//
// It is built against the same pybind11 (Debian's pybind11-dev) as GNU Radio's own bindings, so pmt_t
// and basic_block_sptr pass between the modules. Where it is missing or does not import, the blocks
// report in Python (python/eeamc/reports.py: native_reports, NativeReports).

#include <gnuradio/block.h>
#include <gnuradio/block_detail.h>
#include <gnuradio/block_registry.h>
#include <gnuradio/hier_block2.h>
#include <gnuradio/tags.h>
#include <pmt/pmt.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace {

// Bumped whenever the Python-facing signatures change: python/eeamc/reports.py refuses another.
constexpr int API_VERSION = 1;

// gr::block::add_item_tag is protected (a block tags its own output); a derived type's using-declaration
// yields a pointer to the very member, callable on any gr::block, the Python gateway block included.
struct tag_access : gr::block {
    using gr::block::add_item_tag;
};
using add_tag_fn = void (gr::block::*)(unsigned int, const gr::tag_t&);
const add_tag_fn add_item_tag = &tag_access::add_item_tag;

template <typename T>
using array = py::array_t<T, py::array::c_style | py::array::forcecast>;

template <typename T>
const T* checked(const array<T>& values, py::ssize_t count, const char* name)
{
    if (values.ndim() != 1 || values.shape(0) != count) {
        throw std::invalid_argument(std::string(name) + " must be a 1-D array of one entry per window (" +
                                    std::to_string(count) + "), got " +
                                    std::to_string(values.ndim()) + "-D of " +
                                    std::to_string(values.size()) + " entries");
    }
    return values.data();
}

// pmt::dict_add for a key the dict does not hold: the very dict dict_add returns (it conses the new
// entry onto the front), without its search of the whole dict for the key, which costs more than
// everything else in a message (every step copies a shared pointer). Reporter checks that no key comes
// twice, so this holds for every message.
pmt::pmt_t add_new(const pmt::pmt_t& dict, const pmt::pmt_t& key, const pmt::pmt_t& value)
{
    return pmt::acons(key, value, dict);
}

// One metadata key of the messages, one value per window (or none: the window's message lacks the key).
// The kinds mirror python/eeamc/running.py's UpstreamTags.window_columns and the multi-channel block's
// channel keys: (kind, key, values...) tuples.
class Column
{
public:
    Column(const py::tuple& spec, py::ssize_t count)
    {
        if (spec.size() < 3) {
            throw std::invalid_argument("a metadata column is (kind, key, values...), got " +
                                        py::repr(spec).cast<std::string>());
        }
        const auto kind = spec[0].cast<std::string>();
        key_ = spec[1].cast<pmt::pmt_t>();
        if (kind == "shared") {  // (value): the same for every window
            kind_ = Kind::shared;
            shared_ = spec[2].cast<pmt::pmt_t>();
        } else if (kind == "pick") {  // (which: int64 index into values, -1 none; values: [pmt])
            expect(spec, 4);
            kind_ = Kind::pick;
            values_ = spec[3].cast<std::vector<pmt::pmt_t>>();
            which_ = hold<int64_t>(spec[2], count, "a pick column's indices");
            for (py::ssize_t i = 0; i < count; i++) {
                if (which_[i] < -1 || which_[i] >= static_cast<int64_t>(values_.size())) {
                    throw std::invalid_argument("a pick column's index " + std::to_string(which_[i]) +
                                                " is not -1 or one of its " +
                                                std::to_string(values_.size()) + " values");
                }
            }
        } else if (kind == "double" || kind == "optional_double") {  // (float64 values)
            kind_ = kind == "double" ? Kind::real : Kind::optional_real;  // optional: NaN is none
            doubles_ = hold<double>(spec[2], count, "a double column");
        } else if (kind == "long") {  // (int64 values)
            kind_ = Kind::integer;
            longs_ = hold<int64_t>(spec[2], count, "a long column");
        } else if (kind == "uhd_time") {  // (uint64 seconds, float64 fractions): NaN fraction none
            expect(spec, 4);
            kind_ = Kind::uhd_time;
            seconds_ = hold<uint64_t>(spec[2], count, "a uhd_time column's seconds");
            doubles_ = hold<double>(spec[3], count, "a uhd_time column's fractions");
        } else if (kind == "each") {  // (a PMT vector of each window's value): nil none
            kind_ = Kind::each;
            shared_ = spec[2].cast<pmt::pmt_t>();
            if (!pmt::is_vector(shared_) ||
                static_cast<py::ssize_t>(pmt::length(shared_)) != count) {
                throw std::invalid_argument("an each column must be a PMT vector of one value per "
                                            "window (" +
                                            std::to_string(count) + ")");
            }
        } else {
            throw std::invalid_argument("unknown metadata column kind '" + kind +
                                        "' (shared, pick, double, optional_double, long, uhd_time or each)");
        }
    }

    const pmt::pmt_t& key() const { return key_; }

    // The message with this column's value of window i added (unchanged where it has none).
    pmt::pmt_t add(const pmt::pmt_t& message, py::ssize_t i) const
    {
        pmt::pmt_t value = this->value(i);
        return value ? add_new(message, key_, value) : message;
    }

private:
    enum class Kind { shared, pick, real, optional_real, integer, uhd_time, each };

    static void expect(const py::tuple& spec, size_t size)
    {
        if (spec.size() != size) {
            throw std::invalid_argument("a metadata column of kind '" +
                                        spec[0].cast<std::string>() + "' has " +
                                        std::to_string(size) + " fields, got " +
                                        std::to_string(spec.size()));
        }
    }

    // The array's data, kept alive (and read without the GIL) for as long as this column lives.
    template <typename T>
    const T* hold(const py::handle& values, py::ssize_t count, const char* name)
    {
        auto held = values.cast<array<T>>();
        const T* data = checked(held, count, name);
        arrays_.push_back(std::move(held));
        return data;
    }

    pmt::pmt_t value(py::ssize_t i) const
    {
        switch (kind_) {
        case Kind::shared:
            return shared_;
        case Kind::pick:
            return which_[i] < 0 ? nullptr : values_[which_[i]];
        case Kind::real:
            return pmt::from_double(doubles_[i]);
        case Kind::optional_real:
            return std::isnan(doubles_[i]) ? nullptr : pmt::from_double(doubles_[i]);
        case Kind::integer:
            return pmt::from_long(longs_[i]);
        case Kind::uhd_time:
            if (std::isnan(doubles_[i])) {
                return nullptr;
            }
            return pmt::make_tuple(pmt::from_uint64(seconds_[i]), pmt::from_double(doubles_[i]));
        case Kind::each: {
            pmt::pmt_t value = pmt::vector_ref(shared_, i);
            return pmt::is_null(value) ? nullptr : value;
        }
        }
        return nullptr;
    }

    Kind kind_ = Kind::shared;
    pmt::pmt_t key_, shared_;
    std::vector<pmt::pmt_t> values_;
    std::vector<py::array> arrays_;
    const int64_t* which_ = nullptr;
    const double* doubles_ = nullptr;
    const int64_t* longs_ = nullptr;
    const uint64_t* seconds_ = nullptr;
};

// One block's reporter: what is the same for every window it reports, made once.
class Reporter
{
public:
    // bases[label][exit]: the dict a window of that class and exit starts from; unclassifiable: the
    // whole summary of a window that could not be classified. flag_key: PMT_NIL for the classifier's
    // order (the bases hold `unclassifiable`; entropy and confidence come last), else the key added as
    // PMT_F after entropy and confidence (reports.MessageBuilder's order).
    Reporter(gr::basic_block_sptr block,
             pmt::pmt_t port,
             pmt::pmt_t tag_key,
             std::vector<std::vector<pmt::pmt_t>> bases,
             pmt::pmt_t unclassifiable,
             pmt::pmt_t flag_key)
        : block_(std::move(block)),
          tagged_(std::dynamic_pointer_cast<gr::block>(block_)),
          port_(std::move(port)),
          tag_key_(std::move(tag_key)),
          bases_(std::move(bases)),
          unclassifiable_(std::move(unclassifiable)),
          flag_key_(std::move(flag_key)),
          entropy_(pmt::intern("entropy")),
          confidence_(pmt::intern("confidence")),
          offset_(pmt::intern("offset")),
          probabilities_(pmt::intern("probabilities")),
          window_(pmt::intern("window"))
    {
        if (!block_) {
            throw std::invalid_argument("Reporter needs a block (block.to_basic_block()), got None");
        }
        if (bases_.empty()) {
            throw std::invalid_argument("Reporter needs one list of tag dicts per class, got none");
        }
        check_keys();
        if (!has_output_port(port_)) {
            throw std::invalid_argument("the block has no output message port " +
                                        pmt::write_string(port_));
        }
    }

    // Tags (tag) and messages (publish) of the windows one work() call reports; returns how many.
    py::ssize_t report(const array<uint64_t>& offsets,
                       const array<uint64_t>& windows,
                       const array<int64_t>& labels,
                       const array<int64_t>& exits,
                       const array<float>& entropies,
                       const array<float>& confidences,
                       const array<float>& probabilities,
                       const py::list& extras,
                       bool tag,
                       bool publish)
    {
        // Everything is checked before the first tag or message, so that an error has no side effect
        // (the block then reports the same windows in Python): the input, the block's output buffer
        // (check_taggable) and the subscribers (subscribers()). What could still throw in the loop
        // below is an allocation failing.
        if (offsets.ndim() != 1) {
            throw std::invalid_argument("offsets must be a 1-D array, one entry per window");
        }
        const py::ssize_t count = offsets.shape(0);
        Inputs in{ checked(offsets, count, "offsets"),
                   checked(windows, count, "windows"),
                   checked(labels, count, "labels"),
                   checked(exits, count, "exits"),
                   checked(entropies, count, "entropies"),
                   checked(confidences, count, "confidences"),
                   probabilities.data(),
                   probabilities.ndim() == 2 ? static_cast<size_t>(probabilities.shape(1)) : 0 };
        if (probabilities.ndim() != 2 || probabilities.shape(0) != count ||
            static_cast<size_t>(probabilities.shape(1)) != bases_.size()) {
            throw std::invalid_argument("probabilities must be [windows, classes], one row of the " +
                                        std::to_string(bases_.size()) + " classes per window (" +
                                        std::to_string(count) + ")");
        }
        check_classes(in, count);
        if (tag) {
            check_taggable();
        }
        std::vector<Column> columns;
        std::vector<Subscriber> subscribers;
        if (publish) {
            subscribers = this->subscribers();
            columns.reserve(extras.size());
            for (const auto& spec : extras) {
                columns.emplace_back(spec.cast<py::tuple>(), count);
            }
            check_column_keys(columns);
        }
        {
            // Nothing below touches a Python object: other Python blocks run meanwhile.
            py::gil_scoped_release unlocked;
            for (py::ssize_t i = 0; i < count; i++) {
                pmt::pmt_t summary = this->summary(in, i);
                if (tag) {
                    gr::tag_t item;
                    item.offset = in.offsets[i];
                    item.key = tag_key_;
                    item.value = summary;
                    item.srcid = pmt::PMT_F;  // as the Python block's add_item_tag
                    ((*tagged_).*add_item_tag)(0, item);
                }
                if (publish) {
                    pmt::pmt_t message = this->message(summary, in, i, columns);
                    for (const auto& [block, port] : subscribers) {
                        block->_post(port, message);  // what post does for a gr::block (subscribers())
                    }
                }
            }
        }
        calls_ += 1;
        windows_ += count;
        return count;
    }

    long calls() const { return calls_; }
    long windows() const { return windows_; }

private:
    struct Inputs {
        const uint64_t* offsets;
        const uint64_t* windows;
        const int64_t* labels;
        const int64_t* exits;
        const float* entropies;
        const float* confidences;
        const float* probabilities;
        size_t classes;
    };

    // Where message_port_pub(port_, message) posts: the blocks and ports subscribed to port_.
    using Subscriber = std::pair<gr::basic_block_sptr, pmt::pmt_t>;

    // message_port_pub looks every subscriber up in GNU Radio's registry of all blocks, a PMT dict
    // searched key by key, for every message: several microseconds a message in a process with many
    // blocks. This looks them up once per call and then posts as message_port_pub does: it calls
    // msg_accepter::post, which queues the message for a gr::block (_post), drops it for a hier_block2
    // (it has no queue: a msg_connect to one is resolved to the block inside when the flowgraph is
    // flattened, so only a message_port_sub by hand subscribes one) and throws for anything else.
    // Whatever would throw is refused here, before the first tag: a subscriber no longer alive
    // (block_lookup), a gr::block without that input port (_post), another kind of block; an exception
    // half way through the windows would leave some reported that the Python path then reports again.
    std::vector<Subscriber> subscribers() const
    {
        std::vector<Subscriber> found;
        pmt::pmt_t targets = block_->message_subscribers(port_);
        for (; pmt::is_pair(targets); targets = pmt::cdr(targets)) {
            pmt::pmt_t target = pmt::car(targets);  // (block symbol . port)
            gr::basic_block_sptr block = global_block_registry.block_lookup(pmt::car(target));
            if (std::dynamic_pointer_cast<gr::hier_block2>(block)) {
                continue;
            }
            if (!std::dynamic_pointer_cast<gr::block>(block)) {
                throw std::invalid_argument("subscriber " + pmt::write_string(target) +
                                            " is neither a block nor a hier block");
            }
            if (block->get_msg_map().count(pmt::cdr(target)) == 0) {
                throw std::invalid_argument("subscriber " + pmt::write_string(target) +
                                            " has no input message port " +
                                            pmt::write_string(pmt::cdr(target)));
            }
            found.emplace_back(std::move(block), pmt::cdr(target));
        }
        return found;
    }

    // What gr::block::add_item_tag needs and does not check (it dereferences the block's detail and
    // indexes its outputs): without these a call on a block outside a running flowgraph crashes.
    void check_taggable() const
    {
        if (!tagged_) {
            throw std::invalid_argument("this block has no output stream to tag (not a gr::block)");
        }
        if (!pmt::is_symbol(tag_key_)) {
            throw std::invalid_argument("the tag key must be a symbol, got " + pmt::write_string(tag_key_));
        }
        gr::block_detail_sptr detail = tagged_->detail();
        if (!detail || detail->noutputs() < 1) {
            throw std::invalid_argument("the block has no output buffer to tag (it is not part of a "
                                        "started flowgraph): report(tag=True) belongs in work()");
        }
    }

    bool has_output_port(const pmt::pmt_t& port) const
    {
        pmt::pmt_t ports = block_->message_ports_out();
        for (size_t i = 0; i < pmt::length(ports); i++) {
            if (pmt::eqv(pmt::vector_ref(ports, i), port)) {
                return true;
            }
        }
        return false;
    }

    // Every key of a message is added once (add_new): the keys this adds must not be in the dicts it
    // starts from, nor a metadata column's key be any of those; taken_ holds them all.
    void check_keys()
    {
        std::vector<pmt::pmt_t> added{ entropy_, confidence_, offset_, probabilities_, window_ };
        if (!pmt::is_null(flag_key_)) {
            added.push_back(flag_key_);
        }
        for (const auto& bases : bases_) {
            for (const auto& base : bases) {
                take_keys(base, added);
            }
        }
        take_keys(unclassifiable_, { offset_, probabilities_, window_ });
        taken_.insert(taken_.end(), added.begin(), added.end());
    }

    void take_keys(const pmt::pmt_t& dict, const std::vector<pmt::pmt_t>& added)
    {
        for (pmt::pmt_t keys = pmt::dict_keys(dict); pmt::is_pair(keys); keys = pmt::cdr(keys)) {
            pmt::pmt_t key = pmt::car(keys);
            for (const auto& other : added) {
                if (pmt::eqv(key, other)) {
                    throw std::invalid_argument("a tag dict given to Reporter already holds '" +
                                                pmt::write_string(key) + "', a key it adds itself");
                }
            }
            if (!taken(key)) {
                taken_.push_back(key);
            }
        }
    }

    bool taken(const pmt::pmt_t& key) const
    {
        for (const auto& other : taken_) {
            if (pmt::eqv(key, other)) {
                return true;
            }
        }
        return false;
    }

    void check_column_keys(const std::vector<Column>& columns) const
    {
        for (size_t c = 0; c < columns.size(); c++) {
            bool twice = taken(columns[c].key());
            for (size_t other = 0; other < c; other++) {
                twice = twice || pmt::eqv(columns[c].key(), columns[other].key());
            }
            if (twice) {
                throw std::invalid_argument("metadata column '" + pmt::write_string(columns[c].key()) +
                                            "' would add a key the message already has");
            }
        }
    }

    void check_classes(const Inputs& in, py::ssize_t count) const
    {
        for (py::ssize_t i = 0; i < count; i++) {
            int64_t label = in.labels[i], exit = in.exits[i];
            if (label < 0) {
                continue;  // unclassifiable
            }
            if (label >= static_cast<int64_t>(bases_.size()) || exit < 0 ||
                exit >= static_cast<int64_t>(bases_[label].size())) {
                throw std::invalid_argument(
                    "window " + std::to_string(i) + ": class " + std::to_string(label) + ", exit " +
                    std::to_string(exit) + " is not one of the model's " +
                    std::to_string(bases_.size()) + " classes and its exits");
            }
        }
    }

    // The tag's dict of window i (a message starts from it).
    pmt::pmt_t summary(const Inputs& in, py::ssize_t i) const
    {
        int64_t label = in.labels[i];
        if (label < 0) {
            return unclassifiable_;
        }
        pmt::pmt_t summary =
            add_new(bases_[label][in.exits[i]], entropy_, pmt::from_double(in.entropies[i]));
        summary = add_new(summary, confidence_, pmt::from_double(in.confidences[i]));
        if (!pmt::is_null(flag_key_)) {
            summary = add_new(summary, flag_key_, pmt::PMT_F);
        }
        return summary;
    }

    // Window i's message: its summary plus offset, probabilities, window index and the metadata.
    pmt::pmt_t message(const pmt::pmt_t& summary,
                       const Inputs& in,
                       py::ssize_t i,
                       const std::vector<Column>& columns) const
    {
        pmt::pmt_t message = add_new(summary, offset_, pmt::from_uint64(in.offsets[i]));
        message = add_new(
            message,
            probabilities_,
            pmt::init_f32vector(in.classes, in.probabilities + static_cast<size_t>(i) * in.classes));
        message = add_new(message, window_, pmt::from_uint64(in.windows[i]));
        for (const Column& column : columns) {
            message = column.add(message, i);
        }
        return message;
    }

    gr::basic_block_sptr block_;
    gr::block_sptr tagged_;
    pmt::pmt_t port_, tag_key_;
    std::vector<std::vector<pmt::pmt_t>> bases_;
    pmt::pmt_t unclassifiable_, flag_key_;
    pmt::pmt_t entropy_, confidence_, offset_, probabilities_, window_;
    std::vector<pmt::pmt_t> taken_;  // every key a message may hold before its metadata columns
    long calls_ = 0;
    long windows_ = 0;
};

// GNU Radio's bindings register pmt_t and the blocks in their pybind11 internals. A module built with
// another pybind11 (another internals ID) has internals of its own where neither is known, so every
// Reporter would fail to convert its arguments: refused at import instead, saying why, and the blocks
// report in Python (reports.py logs this).
void require_gnuradio_types()
{
    if (py::detail::get_type_info(typeid(pmt::pmt_base)) &&
        py::detail::get_type_info(typeid(gr::basic_block))) {
        return;
    }
    throw py::import_error(
        "eeamc_native (pybind11 " PYBIND11_TOSTRING(PYBIND11_VERSION_MAJOR) "." PYBIND11_TOSTRING(
            PYBIND11_VERSION_MINOR) "." PYBIND11_TOSTRING(PYBIND11_VERSION_PATCH)
            ", internals " PYBIND11_INTERNALS_ID ") does not share GNU Radio's pybind11 internals: "
        "pmt_t and gr::basic_block are unknown to it. Rebuild it against the pybind11 GNU Radio was "
        "built with (the system's pybind11-dev)");
}

} // namespace

PYBIND11_MODULE(eeamc_native, module)
{
    // pmt_t and basic_block_sptr are registered by GNU Radio's own binding modules.
    py::module_::import("pmt");
    py::module_::import("gnuradio.gr");
    require_gnuradio_types();
    module.doc() = "gr-eeamc's per-window tags and messages built and sent in C++ (see reporting.cc)";
    module.attr("API_VERSION") = API_VERSION;
    // reports.py compares it with a checkout's native/reporting.cc: a module built from older source
    // (setup.sh not rerun) is not used.
    module.attr("SOURCE_SHA256") = EEAMC_NATIVE_SOURCE_SHA256;
    py::class_<Reporter>(module, "Reporter")
        .def(py::init<gr::basic_block_sptr,
                      pmt::pmt_t,
                      pmt::pmt_t,
                      std::vector<std::vector<pmt::pmt_t>>,
                      pmt::pmt_t,
                      pmt::pmt_t>(),
             py::arg("block"),
             py::arg("port"),
             py::arg("tag_key"),
             py::arg("bases"),
             py::arg("unclassifiable"),
             py::arg("flag_key"))
        .def("report",
             &Reporter::report,
             py::arg("offsets"),
             py::arg("windows"),
             py::arg("labels"),
             py::arg("exits"),
             py::arg("entropies"),
             py::arg("confidences"),
             py::arg("probabilities"),
             py::arg("extras"),
             py::arg("tag"),
             py::arg("publish"),
             "Tag and/or publish the windows of one work() call; returns how many")
        .def_property_readonly("calls", &Reporter::calls, "report() calls so far")
        .def_property_readonly("windows", &Reporter::windows, "windows reported so far");
}
