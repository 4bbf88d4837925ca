// Passphrase encryption of a backup file. The passphrase becomes a key with Argon2id
// (libsodium's crypto_pwhash, its limits and salt in the file's header); the archive is then
// sealed in chunks with crypto_secretstream_xchacha20poly1305, whose last chunk is tagged
// final, so a file cut short, reordered or altered anywhere fails to open.
//
// File layout (integers little-endian):
//   "Edgeway encrypted backup\n"  magic, 25 bytes (`head -1` tells what the file is)
//   u8 1                          version of this layout
//   u8 1                          key derivation: Argon2id v1.3
//   u16 0                         reserved
//   u64 opslimit, u64 memlimit    Argon2id limits
//   16 bytes                      salt
//   24 bytes                      secretstream header
//   then chunks: u32 length, `length` bytes of sealed data (at most 64 KiB + 17): first an
//   empty one (a wrong passphrase fails there, damage later fails later), then the archive in
//   64 KiB pieces, then an empty one tagged final.
// The whole header is the additional data of every chunk, so it cannot be altered either.
#pragma once

#include "backup/byte_stream.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace edgeway::backup {

constexpr std::string_view kEncryptedMagic = "Edgeway encrypted backup\n";

// True when the file starts like an encrypted backup (prefix holds its first bytes).
bool looks_encrypted(Bytes prefix);

struct KdfLimits {
    std::uint64_t opslimit = 0;
    std::uint64_t memlimit = 0;  // bytes
};
// What new backups use: about 0.2 s of CPU on the 2-core development machine (0.3-0.6 s
// wall time while it is busy building).
KdfLimits default_kdf_limits();

class EncryptingSink : public Sink {
  public:
    // Derives the key (the slow step) and writes the header to `out`.
    EncryptingSink(const std::string& passphrase, Sink& out,
                   KdfLimits limits = default_kdf_limits());
    ~EncryptingSink() override;
    EncryptingSink(const EncryptingSink&) = delete;
    EncryptingSink& operator=(const EncryptingSink&) = delete;
    void write(Bytes data) override;
    void finish() override;

  private:
    void seal(unsigned char tag);
    struct State;
    std::unique_ptr<State> state_;
    Sink& out_;
    std::vector<std::uint8_t> header_, pending_;
};

class DecryptingSource : public Source {
  public:
    // Reads the header and derives the key. Throws BackupError: damaged (a header that cannot
    // be ours), io.
    DecryptingSource(const std::string& passphrase, Source& in);
    ~DecryptingSource() override;
    DecryptingSource(const DecryptingSource&) = delete;
    DecryptingSource& operator=(const DecryptingSource&) = delete;
    // Throws BackupError: wrong_passphrase (the first chunk does not open), damaged (a later
    // one does not, or the file ends before the final chunk or goes on after it).
    std::size_t read(std::span<std::uint8_t> out) override;

  private:
    bool open_next_chunk();
    struct State;
    std::unique_ptr<State> state_;
    Source& in_;
    std::vector<std::uint8_t> header_, plain_;
    std::size_t used_ = 0;
    std::uint64_t chunks_ = 0, offset_ = 0;
    bool final_ = false;
};

}  // namespace edgeway::backup
