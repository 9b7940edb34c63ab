#include "mail/fields.hpp"

#include "mail/ascii.hpp"

namespace referent::mail {

std::vector<FieldBlock> parse_field_blocks(std::string_view text, std::size_t max_blocks) {
    std::vector<FieldBlock> blocks;
    FieldBlock current;
    bool in_field = false;  // whether a continuation line may extend current.back()
    std::size_t pos = 0;
    while (pos < text.size() && blocks.size() < max_blocks) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (trim(line).empty()) {
            if (!current.empty()) blocks.push_back(std::move(current));
            current.clear();
            in_field = false;
        } else if (is_wsp(line.front())) {
            if (in_field) {
                std::string& v = current.back().value;
                if (!v.empty()) v.push_back(' ');
                v.append(trim(line));
            }
        } else if (std::size_t colon = line.find(':');
                   colon != std::string_view::npos && colon > 0) {
            std::string_view name = trim(line.substr(0, colon));
            in_field = !name.empty() && name.find(' ') == std::string_view::npos;
            if (in_field)
                current.push_back({std::string(name), std::string(trim(line.substr(colon + 1)))});
        } else {
            in_field = false;
        }
    }
    if (!current.empty() && blocks.size() < max_blocks) blocks.push_back(std::move(current));
    return blocks;
}

std::string field_value(const FieldBlock& block, std::string_view name) {
    for (const Field& f : block)
        if (iequals(f.name, name)) return f.value;
    return {};
}

bool has_field(const FieldBlock& block, std::string_view name) {
    for (const Field& f : block)
        if (iequals(f.name, name)) return true;
    return false;
}

}  // namespace referent::mail
