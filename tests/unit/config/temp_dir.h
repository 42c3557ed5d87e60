#pragma once
// A fresh directory under /tmp (mkdtemp) for configuration files; removed with its contents.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace lvs::config::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/lvsd-config-test-XXXXXX";
    path_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : std::string{};
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `text` to path()/name (creating subdirectories) and returns the full path.
  std::string write(const std::string& name, const std::string& text) const {
    const auto full = std::filesystem::path(path_) / name;
    std::filesystem::create_directories(full.parent_path());
    std::ofstream(full) << text;
    return full.string();
  }

 private:
  std::string path_;
};

}  // namespace lvs::config::testing
