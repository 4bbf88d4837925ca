#include "turn/authenticator.hpp"

#include <fmt/format.h>

#include <charconv>
#include <chrono>

namespace edgeway::turn {
namespace {

AuthResult refuse(unsigned code, std::string reason, std::string log) {
    AuthResult result;
    result.code = code;
    result.reason = std::move(reason);
    result.log = std::move(log);
    return result;
}

std::string text_of(const stun::Message& message, std::uint16_t type, std::size_t max, bool& bad) {
    const auto* attribute = message.find(type);
    if (!attribute) return {};
    const auto text = stun::decode_text(attribute->value, max);
    if (!text) {
        bad = true;
        return {};
    }
    return std::string(*text);
}

// The expiry (Unix seconds) of a TURN REST API username "EXPIRY:user", if it is one.
std::optional<std::int64_t> rest_expiry(const std::string& username) {
    const auto colon = username.find(':');
    const std::string_view digits =
        std::string_view(username).substr(0, colon == std::string::npos ? username.size() : colon);
    std::int64_t expiry = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), expiry);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
        return std::nullopt;
    return expiry;
}

}  // namespace

Authenticator::Authenticator(CredentialSource& store, std::string realm, const NonceIssuer& nonces)
    : store_(store), realm_(std::move(realm)), nonces_(nonces) {}

AuthResult Authenticator::check(const stun::Message& request, SteadyClock::time_point now) {
    if (request.integrity_offset == 0 && request.integrity_sha256_offset == 0)
        return refuse(401, "Unauthorized", {});  // the first step of every client: a challenge

    bool bad = false;
    const std::string username = text_of(request, stun::attr::username, stun::kMaxUsername, bad);
    const std::string realm = text_of(request, stun::attr::realm, stun::kMaxRealm, bad);
    const std::string nonce = text_of(request, stun::attr::nonce, stun::kMaxNonce, bad);
    if (bad || username.empty() || realm.empty() || nonce.empty())
        return refuse(400, "Bad Request",
                      "400: request with MESSAGE-INTEGRITY but without USERNAME, REALM or NONCE");

    switch (nonces_.check(nonce, now)) {
        case NonceIssuer::Check::valid:
            break;
        case NonceIssuer::Check::stale:
            return refuse(438, "Stale Nonce",
                          fmt::format("438: stale nonce from user '{}'; the client should retry "
                                      "with the new one",
                                      username));
        case NonceIssuer::Check::invalid:
            return refuse(438, "Stale Nonce",
                          fmt::format("438: nonce from user '{}' was not issued by this relay "
                                      "(restarted, or another server's nonce)",
                                      username));
    }
    if (realm != realm_)
        return refuse(401, "Unauthorized",
                      fmt::format("401: user '{}' sent realm '{}' but this relay's realm is '{}' "
                                  "— check the realm configured on the client",
                                  username, realm, realm_));

    AuthResult result;
    result.username = username;
    std::string what;  // for the mismatch log line
    if (auto stored = store_.find(username)) {
        if (stored->realm != realm_)
            return refuse(401, "Unauthorized",
                          fmt::format("401: user '{}' has a password for realm '{}' in {} but "
                                      "this relay's realm is '{}' — set the user's password "
                                      "again (for this realm)",
                                      username, stored->realm, store_.where(), realm_));
        result.key = stored->key;
        what = fmt::format("user '{}'", username);
    } else if (const auto expiry = rest_expiry(username); expiry && store_.shared_secret()) {
        const auto secret = *store_.shared_secret();
        const std::int64_t unix_now = std::chrono::duration_cast<std::chrono::seconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count();
        if (*expiry < unix_now)
            return refuse(401, "Unauthorized",
                          fmt::format("401: time-limited credential '{}' expired {} s ago — the "
                                      "client must fetch a new one",
                                      username, unix_now - *expiry));
        const auto mac = stun::hmac_sha1(
            stun::ByteView(reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size()),
            stun::ByteView(reinterpret_cast<const std::uint8_t*>(username.data()),
                           username.size()));
        result.key = stun::long_term_key(username, realm_, stun::base64(mac));
        what = fmt::format("time-limited user '{}'", username);
    } else {
        return refuse(
            401, "Unauthorized",
            fmt::format("401: user '{}' unknown in {}", username, store_.unknown_user_context()));
    }
    if (stun::check_integrity(request, result.key) != stun::IntegrityCheck::ok)
        return refuse(401, "Unauthorized",
                      fmt::format("401: integrity check failed for {} in realm '{}' — password "
                                  "mismatch? (answered 401 as RFC 8489 requires; older clients "
                                  "report it as 431 Integrity Check Failure)",
                                  what, realm_));
    return result;
}

}  // namespace edgeway::turn
