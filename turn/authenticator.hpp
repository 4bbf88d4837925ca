// The long-term credential mechanism (RFC 8489 9.2) for TURN requests: realm, nonce, user and
// MESSAGE-INTEGRITY(-SHA256) checked against the local credential database, or against the
// shared secret for TURN REST API usernames ("EXPIRY:user", password base64(HMAC-SHA1(secret,
// username))). Every refusal comes with a log line naming the user, the realm and what to check.
#pragma once

#include "turn/credential_store.hpp"
#include "turn/nonce.hpp"
#include "turn/stun_codec.hpp"

#include <string>

namespace edgeway::turn {

struct AuthResult {
    unsigned code = 0;   // 0: authenticated; else the error to answer (400, 401, 438)
    std::string reason;  // ERROR-CODE reason phrase
    std::string log;     // what the operator should read; empty for the normal first challenge
    std::string username;
    stun::Md5 key{};  // on success: the key for the response's integrity
};

class Authenticator {
  public:
    Authenticator(CredentialSource& store, std::string realm, const NonceIssuer& nonces);
    AuthResult check(const stun::Message& request, SteadyClock::time_point now);
    const std::string& realm() const { return realm_; }

  private:
    CredentialSource& store_;
    std::string realm_;
    const NonceIssuer& nonces_;
};

}  // namespace edgeway::turn
