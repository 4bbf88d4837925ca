#include "backup/encryption.hpp"

#include "backup/backup.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace edgeway::backup {

namespace {

using Reason = BackupError::Reason;

constexpr std::uint8_t kLayoutVersion = 1;
constexpr std::uint8_t kArgon2id13 = 1;
constexpr std::size_t kChunkBytes = 64 * 1024;
constexpr std::size_t kSealedMax = kChunkBytes + crypto_secretstream_xchacha20poly1305_ABYTES;
constexpr std::size_t kFixedBytes = kEncryptedMagic.size() + 4 + 8 + 8;
constexpr std::size_t kHeaderBytes =
    kFixedBytes + crypto_pwhash_SALTBYTES + crypto_secretstream_xchacha20poly1305_HEADERBYTES;

// Limits a file may ask for: anything above is not from an edgeway (and would let a crafted
// file tie up the machine before its first chunk fails).
constexpr std::uint64_t kMaxOpslimit = 16;
constexpr std::uint64_t kMaxMemlimit = std::uint64_t{1} << 30;

void init_sodium() {
    if (sodium_init() < 0) throw BackupError(Reason::io, "libsodium cannot be initialised");
}

void put_u64(std::vector<std::uint8_t>& out, std::uint64_t value) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

std::uint64_t get_u64(const std::uint8_t* in) {
    std::uint64_t value = 0;
    for (int i = 7; i >= 0; --i) value = (value << 8) | in[i];
    return value;
}

// The 256-bit key, wiped when it goes.
struct Key {
    std::array<std::uint8_t, crypto_secretstream_xchacha20poly1305_KEYBYTES> bytes{};
    ~Key() { sodium_memzero(bytes.data(), bytes.size()); }
};

void derive(Key& key, const std::string& passphrase, const std::uint8_t* salt, KdfLimits limits) {
    if (crypto_pwhash(key.bytes.data(), key.bytes.size(), passphrase.data(), passphrase.size(),
                      salt, limits.opslimit, static_cast<std::size_t>(limits.memlimit),
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        throw BackupError(Reason::io, fmt::format("cannot derive the key from the passphrase "
                                                  "(Argon2id needs {} MiB of memory)",
                                                  limits.memlimit >> 20));
}

}  // namespace

bool looks_encrypted(Bytes prefix) {
    return prefix.size() >= kEncryptedMagic.size() &&
           std::memcmp(prefix.data(), kEncryptedMagic.data(), kEncryptedMagic.size()) == 0;
}

KdfLimits default_kdf_limits() {
    // Argon2id with libsodium's "interactive" memory (64 MiB) and three passes: well under a
    // second here, every guess costing an attacker as much.
    return {3, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

// ---------------------------------------------------------------------------------------------

struct EncryptingSink::State {
    Key key;
    crypto_secretstream_xchacha20poly1305_state stream{};
    ~State() { sodium_memzero(&stream, sizeof stream); }
};

EncryptingSink::EncryptingSink(const std::string& passphrase, Sink& out, KdfLimits limits)
    : state_(std::make_unique<State>()), out_(out) {
    init_sodium();
    header_.assign(kEncryptedMagic.begin(), kEncryptedMagic.end());
    header_.insert(header_.end(), {kLayoutVersion, kArgon2id13, 0, 0});
    put_u64(header_, limits.opslimit);
    put_u64(header_, limits.memlimit);
    std::uint8_t salt[crypto_pwhash_SALTBYTES];
    randombytes_buf(salt, sizeof salt);
    header_.insert(header_.end(), salt, salt + sizeof salt);
    derive(state_->key, passphrase, salt, limits);
    std::uint8_t stream_header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    crypto_secretstream_xchacha20poly1305_init_push(&state_->stream, stream_header,
                                                    state_->key.bytes.data());
    header_.insert(header_.end(), stream_header, stream_header + sizeof stream_header);
    out_.write(header_);
    // An empty first chunk: opening it tells a wrong passphrase from damage further on.
    seal(crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    pending_.reserve(kChunkBytes);
}

EncryptingSink::~EncryptingSink() {
    sodium_memzero(pending_.data(), pending_.size());
}

void EncryptingSink::write(Bytes data) {
    while (!data.empty()) {
        const std::size_t n = std::min(data.size(), kChunkBytes - pending_.size());
        pending_.insert(pending_.end(), data.begin(),
                        data.begin() + static_cast<std::ptrdiff_t>(n));
        data = data.subspan(n);
        if (pending_.size() == kChunkBytes) seal(crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    }
}

void EncryptingSink::finish() {
    if (!pending_.empty()) seal(crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    // An empty last chunk tagged final: a file cut at any chunk's end is seen as cut.
    seal(crypto_secretstream_xchacha20poly1305_TAG_FINAL);
    out_.finish();
}

void EncryptingSink::seal(unsigned char tag) {
    std::vector<std::uint8_t> sealed(4 + pending_.size() +
                                     crypto_secretstream_xchacha20poly1305_ABYTES);
    unsigned long long length = 0;
    crypto_secretstream_xchacha20poly1305_push(&state_->stream, sealed.data() + 4, &length,
                                               pending_.data(), pending_.size(), header_.data(),
                                               header_.size(), tag);
    for (std::size_t i = 0; i < 4; ++i) sealed[i] = static_cast<std::uint8_t>(length >> (8 * i));
    out_.write(sealed);
    sodium_memzero(pending_.data(), pending_.size());
    pending_.clear();
}

// ---------------------------------------------------------------------------------------------

struct DecryptingSource::State {
    crypto_secretstream_xchacha20poly1305_state stream{};
    ~State() { sodium_memzero(&stream, sizeof stream); }
};

DecryptingSource::DecryptingSource(const std::string& passphrase, Source& in)
    : state_(std::make_unique<State>()), in_(in) {
    init_sodium();
    header_.resize(kHeaderBytes);
    if (read_fully(in_, header_) != kHeaderBytes || !looks_encrypted(header_))
        throw BackupError(Reason::damaged, "damaged file: the encryption header is cut short");
    const std::uint8_t* fixed = header_.data() + kEncryptedMagic.size();
    if (fixed[0] != kLayoutVersion)
        throw BackupError(Reason::newer_format,
                          fmt::format("encrypted with layout version {}, written by a newer "
                                      "edgeway (this one reads version {})",
                                      fixed[0], kLayoutVersion));
    const KdfLimits limits{get_u64(fixed + 4), get_u64(fixed + 12)};
    if (fixed[1] != kArgon2id13 || limits.opslimit < crypto_pwhash_OPSLIMIT_MIN ||
        limits.opslimit > kMaxOpslimit || limits.memlimit < crypto_pwhash_MEMLIMIT_MIN ||
        limits.memlimit > kMaxMemlimit)
        throw BackupError(Reason::damaged,
                          "damaged file: the encryption header's key derivation settings are "
                          "not valid");
    Key key;
    derive(key, passphrase, fixed + 20, limits);
    if (crypto_secretstream_xchacha20poly1305_init_pull(
            &state_->stream, fixed + 20 + crypto_pwhash_SALTBYTES, key.bytes.data()) != 0)
        throw BackupError(Reason::damaged, "damaged file: invalid encryption header");
    offset_ = kHeaderBytes;
}

DecryptingSource::~DecryptingSource() {
    sodium_memzero(plain_.data(), plain_.size());
}

std::size_t DecryptingSource::read(std::span<std::uint8_t> out) {
    while (used_ == plain_.size()) {
        if (final_ || !open_next_chunk()) return 0;
    }
    const std::size_t n = std::min(out.size(), plain_.size() - used_);
    std::memcpy(out.data(), plain_.data() + used_, n);
    used_ += n;
    return n;
}

bool DecryptingSource::open_next_chunk() {
    std::uint8_t length_bytes[4];
    const std::size_t got = read_fully(in_, length_bytes);
    if (got != sizeof length_bytes)
        throw BackupError(Reason::damaged, fmt::format("damaged file: it ends at byte {} before "
                                                       "the encrypted data's last chunk",
                                                       offset_ + got));
    const std::size_t length = static_cast<std::size_t>(length_bytes[0]) |
                               static_cast<std::size_t>(length_bytes[1]) << 8 |
                               static_cast<std::size_t>(length_bytes[2]) << 16 |
                               static_cast<std::size_t>(length_bytes[3]) << 24;
    if (length < crypto_secretstream_xchacha20poly1305_ABYTES || length > kSealedMax)
        throw BackupError(Reason::damaged,
                          fmt::format("damaged file: invalid chunk length at byte {}", offset_));
    std::vector<std::uint8_t> sealed(length);
    if (read_fully(in_, sealed) != length)
        throw BackupError(Reason::damaged, fmt::format("damaged file: the chunk at byte {} is "
                                                       "cut short",
                                                       offset_));
    sodium_memzero(plain_.data(), plain_.size());
    plain_.resize(length - crypto_secretstream_xchacha20poly1305_ABYTES);
    unsigned long long plain_length = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&state_->stream, plain_.data(), &plain_length,
                                                   &tag, sealed.data(), sealed.size(),
                                                   header_.data(), header_.size()) != 0) {
        if (chunks_ == 0)
            throw BackupError(Reason::wrong_passphrase, "wrong passphrase or damaged file");
        throw BackupError(Reason::damaged,
                          fmt::format("damaged file: the encrypted chunk at byte {} fails its "
                                      "authentication (altered or cut)",
                                      offset_));
    }
    plain_.resize(static_cast<std::size_t>(plain_length));
    used_ = 0;
    offset_ += 4 + length;
    ++chunks_;
    if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
        std::uint8_t extra;
        if (in_.read({&extra, 1}) != 0)
            throw BackupError(Reason::damaged,
                              fmt::format("damaged file: data after the end of the encrypted "
                                          "stream (byte {})",
                                          offset_));
        final_ = true;
    }
    return true;
}

}  // namespace edgeway::backup
