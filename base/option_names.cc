#include "base/option_names.h"

#include <algorithm>
#include <atomic>

namespace memspice::base {
namespace {

constexpr std::string_view kOpen = "{opt:";

std::atomic<OptionSpelling> g_spelling{nullptr};

// Neutral option names are snake_case: lower-case letters, digits and underscores.
bool IsOptionName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string NeutralSpelling(std::string_view name) { return "option " + std::string(name); }

}  // namespace

std::string Opt(std::string_view name) { return std::string(kOpen) + std::string(name) + "}"; }

void SetOptionSpelling(OptionSpelling spelling) { g_spelling.store(spelling); }

std::string RenderOptionNames(std::string text) {
  const OptionSpelling spelling = g_spelling.load();
  size_t pos = 0;
  while ((pos = text.find(kOpen, pos)) != std::string::npos) {
    const size_t close = text.find('}', pos + kOpen.size());
    if (close == std::string::npos) break;
    const std::string_view name(text.data() + pos + kOpen.size(), close - pos - kOpen.size());
    if (!IsOptionName(name)) {  // not a marker: leave the text as written
      pos += kOpen.size();
      continue;
    }
    const std::string spelled = spelling ? spelling(name) : NeutralSpelling(name);
    text.replace(pos, close + 1 - pos, spelled);
    pos += spelled.size();
  }
  return text;
}

std::string CliOptionSpelling(std::string_view name) {
  std::string flag = "--" + std::string(name);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

}  // namespace memspice::base
