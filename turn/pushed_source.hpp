// The relay's view of the credentials the cores push (an edge configured with "credentials":
// "pushed"): each lookup reads the set current at that moment, so a new set counts for the next
// request. Until the first set arrives every user is unknown (401), which it logs once.
#pragma once

#include "turn/credential_store.hpp"

namespace edgeway::turn {

class PushedSource final : public CredentialSource {
  public:
    PushedSource(std::shared_ptr<const PushedCredentials> pushed, Logger& log)
        : pushed_(std::move(pushed)), log_(log) {}

    std::optional<StoredKey> find(const std::string& name) override;
    std::optional<std::string> shared_secret() override;
    std::string where() const override { return "the credentials pushed by the cores"; }
    std::string unknown_user_context() const override;

  private:
    std::shared_ptr<const PushedCredentials> pushed_;
    Logger& log_;
    bool told_none_yet_ = false;  // used on the relay's thread only
};

}  // namespace edgeway::turn
