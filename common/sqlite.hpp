// SQLite plumbing shared by the stores (rules, admin accounts, TURN credentials): a private
// database file in WAL mode, prepared statements, transactions that roll back unless committed,
// and the schema-version ladder. Every error throws the store's own exception type, with the
// file, what was being done and SQLite's words.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace edgeway::sqlite {

// Throws the store's error type with this message; it must not return.
using Raise = void (*)(const std::string& message);

class Database {
  public:
    // Opens the file (creating it 0600, and its directories 0700, when missing), enables WAL,
    // synchronous FULL (a commit reported as done survives a power loss), a busy timeout and
    // foreign keys. A corrupt or foreign file fails here, naming the file.
    Database(std::filesystem::path file, Raise raise);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    sqlite3* get() const { return db_.get(); }
    const std::filesystem::path& file() const { return file_; }

    [[noreturn]] void fail(int code, std::string_view doing) const;
    void exec(const char* sql, std::string_view doing);

    // Brings the schema to steps.size() (PRAGMA user_version): steps[i] takes version i to
    // i + 1, all in one write transaction. A newer version than known, or a version-0 file that
    // already has tables (not one of ours: `kind` names what it should be), is an error.
    using Step = void (*)(Database&);
    void migrate(std::span<const Step> steps, std::string_view kind);

    // Changes when another connection commits (PRAGMA data_version).
    std::int64_t data_version();
    std::int64_t last_insert_rowid() const;
    int extended_errcode() const;

  private:
    struct Close {
        void operator()(sqlite3* db) const;
    };
    std::filesystem::path file_;
    Raise raise_;
    std::unique_ptr<sqlite3, Close> db_;
};

// One prepared statement.
class Statement {
  public:
    Statement(const Database& db, std::string_view sql, std::string_view doing);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, std::string_view value);
    Statement& bind(int index, const std::string& value) {
        return bind(index, std::string_view(value));
    }
    Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }

    // True when a row is available; false when the statement is done.
    bool step();
    void run();
    void reset();

    std::int64_t integer(int column) const;
    std::string text(int column) const;
    bool is_null(int column) const;

  private:
    void check(int rc);

    const Database& db_;
    std::string_view doing_;
    sqlite3_stmt* stmt_ = nullptr;
};

// Rolled back unless committed, so every error path (exceptions included) leaves the database
// as it was. A write transaction takes the write lock at once (BEGIN IMMEDIATE): two writers
// wait for each other (busy timeout) instead of failing halfway on a lock upgrade.
class Transaction {
  public:
    enum Kind { read, write };
    Transaction(Database& db, Kind kind);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

  private:
    Database& db_;
    bool open_ = false;
};

// ISO-8601 UTC with seconds ("2026-11-25T10:41:03Z"), the form of every stored timestamp.
std::string now_utc();

}  // namespace edgeway::sqlite
