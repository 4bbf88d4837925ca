#include "tls/tls.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <boost/asio/error.hpp>

namespace edgeway::tls {

std::string describe(const boost::system::error_code& ec, SSL* ssl) {
    if (ec == boost::asio::ssl::error::stream_truncated)
        return "peer closed without TLS close_notify";
    std::string text = ec.message();
    if (ec.category() == boost::asio::error::get_ssl_category()) {
        // Beast/Asio give OpenSSL's packed error code; its reason string is the useful part.
        const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
        if (reason) text = reason;
        if (ssl) {
            const long verify = SSL_get_verify_result(ssl);
            if (verify != X509_V_OK)
                text += std::string(": ") + X509_verify_cert_error_string(verify);
        }
    }
    return text;
}

}  // namespace edgeway::tls
