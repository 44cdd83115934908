// CertificateFiles: the contents of the --tls-* files, read and checked
// together, as one value to hand to the TLS stack. Loading is all-or-nothing:
// a value exists only if every file was read and parsed, the key is the
// certificate's, and the client CA (if any) holds a certificate. A plain
// value type; LoadCertificateFiles is safe from any thread.
#ifndef WASIKV_SERVER_TLS_CERTIFICATE_FILES_H_
#define WASIKV_SERVER_TLS_CERTIFICATE_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "server/tls/server_tls_options.h"

namespace wasikv {

struct CertificateFiles {
  // The files' bytes, as read.
  std::string cert_chain_pem;
  std::string private_key_pem;
  std::string client_ca_pem;  // empty without --tls-client-ca-file
  // The leaf certificate, for logs: RFC 2253 subject, hex serial, and its
  // notAfter as OpenSSL prints it ("Jan  2 03:04:05 2027 GMT").
  std::string subject;
  std::string serial;
  std::string not_after;
  // The leaf is past its notAfter or before its notBefore now. Loaded anyway
  // (the operator's choice), but worth a warning.
  bool outside_validity = false;

  // Same bytes: nothing to reload.
  bool SameFiles(const CertificateFiles& other) const {
    return cert_chain_pem == other.cert_chain_pem && private_key_pem == other.private_key_pem &&
           client_ca_pem == other.client_ca_pem;
  }
};

// Reads the files of `options`. INVALID_ARGUMENT names the flag and the file
// for an unreadable file, one without PEM certificates, an encrypted or
// unparsable key, or a key that does not match the certificate.
absl::StatusOr<CertificateFiles> LoadCertificateFiles(const ServerTlsOptions& options);

}  // namespace wasikv

#endif  // WASIKV_SERVER_TLS_CERTIFICATE_FILES_H_
