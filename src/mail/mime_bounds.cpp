#include "mail/mime_bounds.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "mail/ascii.hpp"
#include "mail/content_type.hpp"

namespace referent::mail {

namespace {

struct Frame {
    std::string boundary;
    std::uint32_t depth = 0;  // depth of the multipart entity itself
    bool digest = false;
};

// The header block being read: only what decides the shape of the entity is kept.
struct Entity {
    std::uint32_t depth = 0;
    bool digest_child = false;
    bool top = false;
    std::uint64_t size = 0;
    std::string content_type;        // last Content-Type, unfolded
    std::string encoding;            // last Content-Transfer-Encoding, unfolded
    std::string* current = nullptr;  // the value a continuation line extends
};

Entity new_entity(std::uint32_t depth, bool digest_child, bool top) {
    Entity e;
    e.depth = depth;
    e.digest_child = digest_child;
    e.top = top;
    return e;
}

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

bool is_blank_line(std::string_view line) {
    return line == "\n" || line == "\r\n" || line == "\r";
}

// A header field line: a name of printable ASCII without spaces (spaces before the colon are
// tolerated, RFC 5322 obs-optional), then a colon.
std::optional<std::string_view> header_name(std::string_view line) {
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    if (name.empty()) return std::nullopt;
    for (char c : name)
        if (c <= ' ' || c >= 127) return std::nullopt;
    return name;
}

std::string_view strip_line_end(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || is_wsp(line.back())))
        line.remove_suffix(1);
    return line;
}

bool is_leaf_encoding(std::string_view encoding) {
    std::string e = lower(first_token(encoding));
    return e == "base64" || e == "quoted-printable" || e == "x-uuencode" || e == "uuencode" ||
           e == "x-uue";
}

class Scanner {
public:
    Scanner(std::string_view bytes, const ParseLimits& limits) : in_(bytes), limits_(limits) {}

    BoundsScan run() {
        std::size_t pos = 0;
        if (in_.substr(0, 5) == "From ") pos = line_at(0).size();  // mbox envelope line
        entity_ = new_entity(0, false, true);
        out_.parts = 1;
        while (pos < in_.size() && !out_.refusal) {
            std::string_view line = line_at(pos);
            if (in_headers_) {
                if (!header_line(line)) continue;  // the block ended before it: see it again
            } else {
                body_line(line);
            }
            pos += line.size();
        }
        if (in_headers_ && !out_.refusal) end_headers();
        return std::move(out_);
    }

private:
    std::string_view line_at(std::size_t pos) const {
        std::size_t end = in_.find('\n', pos);
        return in_.substr(pos,
                          end == std::string_view::npos ? std::string_view::npos : end - pos + 1);
    }

    // Handles one line of a header block. Returns false when the block ended before this line,
    // which must then be seen again (as content, or as a header of an encapsulated message).
    bool header_line(std::string_view line) {
        if (is_blank_line(line)) {
            end_headers();
            return true;
        }
        bool delimiter = line.size() >= 2 && line[0] == '-' && line[1] == '-' && match(line);
        std::optional<std::string_view> name;
        if (!delimiter && !is_wsp(line[0])) name = header_name(line);
        if (delimiter || (!is_wsp(line[0]) && !name)) {
            end_headers();  // GMime ends the block here too (and warns)
            return false;
        }
        count_header_octets(line.size());
        if (name) {
            entity_.current = nullptr;
            if (iequals(*name, "Content-Type")) entity_.current = &entity_.content_type;
            if (iequals(*name, "Content-Transfer-Encoding")) entity_.current = &entity_.encoding;
            if (entity_.current) entity_.current->assign(line.substr(line.find(':') + 1));
        } else if (entity_.current) {
            entity_.current->append(line);  // a folded continuation
        }
        return true;
    }

    void count_header_octets(std::size_t n) {
        entity_.size += n;
        if (entity_.top) out_.header_size = entity_.size;
        if (entity_.size > limits_.max_header_size)
            refuse(RefusalKind::header_too_large,
                   std::string(entity_.top ? "header block" : "header block of a MIME part") +
                       " over " + std::to_string(limits_.max_header_size) + " octets");
    }

    void end_headers() {
        in_headers_ = false;
        ContentType ct = entity_.content_type.empty() && entity_.digest_child
                             ? ContentType{"message", "rfc822", {}}
                             : parse_content_type(entity_.content_type);
        if (ct.type == "multipart") {
            std::string boundary = ct.parameter("boundary");
            if (boundary.empty()) return;  // GMime flags this (CRIT); the body is opaque
            if (boundary.size() > max_boundary_length)
                out_.damage.push_back("multipart boundary of " + std::to_string(boundary.size()) +
                                      " octets (at most " + std::to_string(max_boundary_length) +
                                      ")");
            push(std::move(boundary), entity_.depth, ct.subtype == "digest");
        } else if (ct.type == "message" &&
                   (ct.subtype == "rfc822" || ct.subtype == "news" || ct.subtype == "global") &&
                   !is_leaf_encoding(entity_.encoding)) {
            std::uint32_t depth = entity_.depth + 1;
            if (!add_entity(depth)) return;
            entity_ = new_entity(depth, false, false);
            in_headers_ = true;
        }
    }

    bool add_entity(std::uint32_t depth) {
        ++out_.parts;
        if (depth > out_.depth) out_.depth = depth;
        if (depth > limits_.max_mime_depth)
            refuse(RefusalKind::too_deep, "MIME nesting deeper than " +
                                              std::to_string(limits_.max_mime_depth) + " levels");
        else if (out_.parts > limits_.max_mime_parts)
            refuse(RefusalKind::too_many_parts,
                   "more than " + std::to_string(limits_.max_mime_parts) + " MIME parts");
        return !out_.refusal;
    }

    void body_line(std::string_view line) {
        if (frames_.empty() || line.size() < 2 || line[0] != '-' || line[1] != '-') return;
        if (!match(line)) return;
        while (frames_.size() > match_index_ + 1) pop();
        if (match_close_) {
            pop();  // the epilogue belongs to the enclosing entity
            return;
        }
        std::uint32_t depth = frames_[match_index_].depth + 1;
        bool digest = frames_[match_index_].digest;
        if (!add_entity(depth)) return;
        entity_ = new_entity(depth, digest, false);
        in_headers_ = true;
    }

    // Sets match_index_ / match_close_ to the innermost open boundary the line delimits.
    bool match(std::string_view line) {
        std::string_view b = strip_line_end(line).substr(2);
        std::size_t best = 0;
        bool found = false;
        if (auto it = open_.find(b); it != open_.end()) {
            best = it->second.back();
            found = true;
            match_close_ = false;
        }
        if (b.size() >= 2 && b.substr(b.size() - 2) == "--") {
            auto it = open_.find(b.substr(0, b.size() - 2));
            if (it != open_.end() && (!found || it->second.back() > best)) {
                best = it->second.back();
                found = true;
                match_close_ = true;
            }
        }
        match_index_ = best;
        return found;
    }

    void push(std::string boundary, std::uint32_t depth, bool digest) {
        open_[boundary].push_back(frames_.size());
        frames_.push_back(Frame{std::move(boundary), depth, digest});
    }

    void pop() {
        auto it = open_.find(frames_.back().boundary);
        it->second.pop_back();
        if (it->second.empty()) open_.erase(it);
        frames_.pop_back();
    }

    void refuse(RefusalKind kind, std::string reason) {
        if (!out_.refusal) out_.refusal = Refusal{kind, std::move(reason)};
    }

    std::string_view in_;
    ParseLimits limits_;
    BoundsScan out_;
    Entity entity_;
    bool in_headers_ = true;
    std::vector<Frame> frames_;
    std::unordered_map<std::string, std::vector<std::size_t>, StringHash, std::equal_to<>> open_;
    std::size_t match_index_ = 0;
    bool match_close_ = false;
};

}  // namespace

BoundsScan scan_bounds(std::string_view bytes, const ParseLimits& limits) {
    if (bytes.size() > limits.max_message_size) {
        BoundsScan out;
        out.refusal = Refusal{RefusalKind::too_large, "message of " + std::to_string(bytes.size()) +
                                                          " octets, over " +
                                                          std::to_string(limits.max_message_size)};
        return out;
    }
    return Scanner(bytes, limits).run();
}

}  // namespace referent::mail
