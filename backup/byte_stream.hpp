// The byte pipes a backup flows through: archive -> (encryption) -> file, and back. Each stage
// is a Sink (written to, then finished) or a Source (read until it returns 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace edgeway::backup {

using Bytes = std::span<const std::uint8_t>;

class Sink {
  public:
    virtual ~Sink() = default;
    virtual void write(Bytes data) = 0;
    // Everything was written: flush what is buffered (a stage passes finish() on).
    virtual void finish() = 0;
};

class Source {
  public:
    virtual ~Source() = default;
    // Up to out.size() bytes; 0 at the end. Throws BackupError.
    virtual std::size_t read(std::span<std::uint8_t> out) = 0;
};

// A new file, written under a temporary name in its directory and renamed over `file` by
// finish() after an fsync, so a reader sees the old file or the whole new one; destroyed
// unfinished, it removes the temporary file. It gets `mode` and, when given, `owner`.
class AtomicFileSink : public Sink {
  public:
    struct Owner {
        unsigned uid, gid;
    };
    explicit AtomicFileSink(std::filesystem::path file, unsigned mode = 0600,
                            std::optional<Owner> owner = std::nullopt);
    ~AtomicFileSink() override;
    AtomicFileSink(const AtomicFileSink&) = delete;
    AtomicFileSink& operator=(const AtomicFileSink&) = delete;
    void write(Bytes data) override;
    void finish() override;
    std::uint64_t bytes() const { return bytes_; }

  private:
    [[noreturn]] void abandon(const char* doing);  // removes the temporary file and throws

    std::filesystem::path file_, temporary_;
    int fd_ = -1;
    std::uint64_t bytes_ = 0;
};

class StreamSink : public Sink {
  public:
    explicit StreamSink(std::ostream& out) : out_(out) {}
    void write(Bytes data) override;
    void finish() override;
    std::uint64_t bytes() const { return bytes_; }

  private:
    std::ostream& out_;
    std::uint64_t bytes_ = 0;
};

class FileSource : public Source {
  public:
    explicit FileSource(const std::filesystem::path& file);
    ~FileSource() override;
    FileSource(const FileSource&) = delete;
    FileSource& operator=(const FileSource&) = delete;
    std::size_t read(std::span<std::uint8_t> out) override;

  private:
    std::filesystem::path file_;
    int fd_ = -1;
};

class StreamSource : public Source {
  public:
    StreamSource(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}
    std::size_t read(std::span<std::uint8_t> out) override;

  private:
    std::istream& in_;
    std::string name_;
};

// Replays bytes already read (to recognise the format) before the rest of the source.
class PrefixedSource : public Source {
  public:
    PrefixedSource(std::vector<std::uint8_t> prefix, Source& rest)
        : prefix_(std::move(prefix)), rest_(rest) {}
    std::size_t read(std::span<std::uint8_t> out) override;

  private:
    std::vector<std::uint8_t> prefix_;
    std::size_t used_ = 0;
    Source& rest_;
};

// Reads until `out` is full or the source ends; returns how many bytes came.
std::size_t read_fully(Source& source, std::span<std::uint8_t> out);

}  // namespace edgeway::backup
