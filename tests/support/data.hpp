// Test payloads and their digests: the demo web bridge's download pattern (byte i = i % 251) and a
// pseudo-random upload stream, both generated in blocks so 50 MiB never sits in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace edgeway::test {

inline constexpr std::uint64_t MiB = 1024 * 1024;

class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, std::size_t size);
    void update(std::string_view data) { update(data.data(), data.size()); }
    // Lower-case hex; the object cannot be updated afterwards.
    std::string hex();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

std::string sha256_hex(std::string_view data);

// Bytes [offset, offset + size) of the download pattern.
void fill_pattern(std::uint64_t offset, char* out, std::size_t size);
std::string pattern_bytes(std::uint64_t offset, std::size_t size);
// sha256 of the first size bytes of the pattern.
std::string pattern_sha256(std::uint64_t size);

// A deterministic pseudo-random byte stream (not the download pattern, so an echo of the wrong
// data cannot pass), read in blocks.
class RandomStream {
  public:
    explicit RandomStream(std::uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
    void fill(char* out, std::size_t size);
    std::string bytes(std::size_t size);

  private:
    std::uint64_t state_;
};

}  // namespace edgeway::test
